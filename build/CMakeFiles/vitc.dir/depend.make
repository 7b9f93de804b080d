# Empty dependencies file for vitc.
# This may be replaced when dependencies are built.
