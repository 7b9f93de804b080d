#!/bin/bash
# symbols.sh ARCHIVE... — a host links libvitc.a or libvitc_rt.a next to its own code, so every global
# these archives define must carry the vitc_ prefix: any other name could collide with the host's.
# (CMakeLists.txt's vitc_localize_archive keeps them so; NAME_* entry points are in the user's object.)
set -u
bad=0
for archive in "$@"; do
  nglobal=$(nm -g --defined-only "$archive" | awk 'NF == 3' | wc -l)
  if [[ $nglobal == 0 ]]; then
    echo "$archive: defines no global symbol at all (not built, or the public API was localised too)"
    bad=1
  fi
  unprefixed=$(nm -g --defined-only "$archive" | awk 'NF == 3 && $3 !~ /^vitc_/ {print $3}' | sort -u)
  if [[ -n $unprefixed ]]; then
    echo "$archive: $(wc -l <<<"$unprefixed") global symbols without the vitc_ prefix:"
    head -20 <<<"$unprefixed"
    bad=1
  fi
done
[[ $bad == 0 ]] && echo "archives define only vitc_* globals: ok"
exit $bad
