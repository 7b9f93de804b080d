# Empty dependencies file for vitc_lib.
# This may be replaced when dependencies are built.
