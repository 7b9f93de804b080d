# lib.bash — helpers for the AOT tests. Every tests/aot/*.sh is run by ctest as
#   bash SCRIPT VITC SOURCE_DIR SCRATCH_DIR RT_ARCHIVE
# and drives `vitc compile`, then builds and runs hosts with the system C compiler, as a user would.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib/common.bash"
RT=$4
MODEL=$SRC/tests/graphs/aot_two_io/model.onnx
DATA=$SRC/tests/graphs/aot_two_io/test_data_set_0
umask 022

# expect_file_matches FILE REGEX
expect_file_matches() {
  grep -Eq -- "$2" "$1" || fail "$1 does not match /$2/"
}
# expect_empty_dir DIR: a failed compile left nothing behind (no output, header, weights or temporary).
expect_empty_dir() {
  [ -z "$(ls -A "$1")" ] || fail "$1 is not empty after the failure: $(ls -A "$1" | tr '\n' ' ')"
}
# expect_readable FILE: written with the umask's mode (0644 here), not a temporary file's 0600.
expect_readable() {
  [ "$(stat -c %a "$1")" = 644 ] || fail "$1 has mode $(stat -c %a "$1"), expected 644 under umask 022"
}

# build_host DIR OUT [CFLAGS...]: links tests/aot/host_two_io.c with DIR/two_io.o and DIR/two_io.h; the
# script ends here if that fails.
build_host() {
  local dir=$1 out=$2
  shift 2
  run cc -std=gnu11 -O2 -Wall -Wextra -Werror "$@" -I"$dir" -I"$SRC/examples" "$SRC/tests/aot/host_two_io.c" \
    "$SRC/examples/host_io.c" "$dir/two_io.o" "$RT" -lm -lpthread -o "$out"
  [ "$status" -eq 0 ] || { fail "the host does not build"; finish; }
}
