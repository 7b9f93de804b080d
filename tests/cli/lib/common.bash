# common.bash — helpers for the CLI tests (and, through tests/aot/lib.bash, the AOT tests). Every
# tests/cli/*.sh is run by ctest as
#   bash SCRIPT VITC SOURCE_DIR SCRATCH_DIR
# and checks both the exit status and the message of each vitc call.
set -uo pipefail

VITC=$1
SRC=$2
TMP=$3
GRAPHS=$SRC/tests/graphs
rm -rf "$TMP" && mkdir -p "$TMP"
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

# vitc ARGS...: run for the vitc under test.
vitc() { run "$VITC" "$@"; }

# expect_status N: the last vitc call exited with N.
expect_status() {
  [ "$status" -eq "$1" ] || fail "expected exit status $1"
}

# expect_stderr REGEX / expect_stdout REGEX: the last call printed a line matching REGEX (grep -E).
expect_stderr() {
  grep -Eq -- "$1" "$TMP/stderr" || fail "stderr does not match /$1/"
}
expect_stdout() {
  grep -Eq -- "$1" "$TMP/stdout" || fail "stdout does not match /$1/"
}

# expect_error N REGEX: exit status N and an error line "vitc: ..." matching REGEX.
expect_error() {
  expect_status "$1"
  expect_stderr "^vitc: .*$2"
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
