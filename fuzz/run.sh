#!/usr/bin/env bash
# run.sh — `make fuzz`: builds the libFuzzer targets with clang-16 (ASan + UBSan) in build-fuzz/ and runs
# each for a bounded time from its seeds. An input that crashes, leaks, trips a sanitizer, runs out of
# memory (past 4 GiB) or hangs (20 s) is copied to fuzz/regressions/TARGET/, where `make test` replays it
# from then on: commit it with the fix.
#
# usage: fuzz/run.sh [TARGET ...]      targets: model tensor signature (default: all)
# env:   FUZZ_SECONDS=60 per target;  FUZZ_JOBS=1 parallel libFuzzer jobs per target
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build-fuzz
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(model tensor signature)

command -v clang-16 >/dev/null || { echo "fuzz: clang-16 not found (tools/install-deps.sh installs it)" >&2; exit 2; }
CC=clang-16 cmake -S "$src" -B "$build" -DVITC_FUZZ=ON >/dev/null || exit 2
cmake --build "$build" -j2 --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null || exit 2

seeds_of() {
  case $1 in
    model) echo "$src/tests/graphs $src/tests/models" ;;
    tensor) echo "$src/tests/graphs $src/tests/models/demo/test_data_set_0" ;;
    signature) echo "$src/fuzz/seeds/signature" ;;
  esac
}

found=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t artifacts=$build/artifacts/$t/
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzz_$t for ${seconds}s"
  # shellcheck disable=SC2046
  "$build/fuzz/fuzz_$t" "$corpus" $(seeds_of "$t") "$src/fuzz/regressions/$t" -max_total_time="$seconds" \
    -rss_limit_mb=4096 -timeout=20 -artifact_prefix="$artifacts" -print_final_stats=1 2>"$build/fuzz_$t.log"
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz_$t.log" | sed 's/^/   /'
  for crash in "$artifacts"*; do
    [[ -f $crash ]] || continue
    found=1
    cp "$crash" "$src/fuzz/regressions/$t/"
    echo "   FOUND: $(basename "$crash") (kept in fuzz/regressions/$t/; log: $build/fuzz_$t.log)"
    grep -m3 -E "ERROR|SUMMARY|==[0-9]+==" "$build/fuzz_$t.log" | sed 's/^/     /'
    rm -f "$crash"
  done
done
exit $found
