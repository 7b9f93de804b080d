# bf16_check.sh — `vitc check --precision bf16`: beside the expected outputs, the same inputs in float32 and
# each output's bf16 - float32 difference against --bf16-limit (a fraction of float32's range), its verdict
# line and exit status; none of it in float32; a bad limit refused.
source "$(dirname "$0")/lib/common.bash"
VIT=$SRC/tests/models/vit_op17 # bf16 0.2-0.3% of its logit range off float32 on its three data sets
export VITC_CACHE_DIR=$TMP/cache

vitc check "$VIT" --precision bf16 --rtol 0.05 --atol 0.05 --threads 1
expect_status 0
expect_stdout "^test_data_set_0: output 0 'logits': bf16 against float32: max err [0-9.e+-]+, 0\.[0-9]+% of float32's range \(limit 1%; float32 against the expected: [0-9.e+-]+% of their range\): ok$"
[ "$(grep -c 'bf16 against float32' "$TMP/stdout")" -eq 3 ] || fail "one bf16 line per data set"

# A limit below bf16's rounding: the verdict says to use float32, and the exit status is a mismatch's,
# though every output is within --rtol and --atol of the expected.
vitc check "$VIT" --precision bf16 --rtol 0.05 --atol 0.05 --bf16-limit 0.0005 --threads 1
expect_status 1
expect_stdout "^test_data_set_0: output 0 'logits' float32\[1,10\]: .*: ok$"
expect_stdout "\(limit 0\.05%; .*\): TOO FAR: this model amplifies bfloat16's rounding; run it with --precision fp32$"
expect_stdout "3 data sets MISMATCH"

# float32: no such comparison, whatever the limit.
vitc check "$VIT" --bf16-limit 0 --threads 1
expect_status 0
grep -q "bf16 against float32" "$TMP/stdout" && fail "a bf16 line in float32"

vitc check "$VIT" --precision bf16 --bf16-limit -1
expect_status 2
expect_stderr "--bf16-limit expects a number >= 0, got '-1'"
vitc check "$VIT" --precision bf16 --bf16-limit
expect_status 2

finish
