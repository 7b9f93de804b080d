# lib.bash — helpers for the AOT tests. Every tests/aot/*.sh is run by ctest as
#   bash SCRIPT VITC SOURCE_DIR SCRATCH_DIR RT_ARCHIVE
# and drives `vitc compile`, then builds and runs hosts with the system C compiler, as a user would.
set -uo pipefail

VITC=$1
SRC=$2
TMP=$3
RT=$4
MODEL=$SRC/tests/graphs/aot_two_io/model.onnx
DATA=$SRC/tests/graphs/aot_two_io/test_data_set_0
rm -rf "$TMP" && mkdir -p "$TMP"
umask 022
failures=0

fail() {
  echo "FAIL: $*"
  echo "  command: ${last_args[*]}"
  echo "  exit status: $status"
  sed 's/^/  stdout: /' "$TMP/stdout" | head -20
  sed 's/^/  stderr: /' "$TMP/stderr" | head -20
  failures=$((failures + 1))
}

# run CMD ARGS...: runs a command, keeping its exit status in $status and its output in $TMP/stdout, $TMP/stderr.
run() {
  last_args=("$@")
  "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  status=$?
}

expect_status() {
  [ "$status" -eq "$1" ] || fail "expected exit status $1"
}
# expect_stdout REGEX / expect_stderr REGEX: the last command printed a line matching REGEX (grep -E).
expect_stdout() {
  grep -Eq -- "$1" "$TMP/stdout" || fail "stdout does not match /$1/"
}
expect_stderr() {
  grep -Eq -- "$1" "$TMP/stderr" || fail "stderr does not match /$1/"
}
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

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
