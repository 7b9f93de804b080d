# cache.sh — the compile cache of JIT-compiled code (backend/cache.c) through `vitc run`: a hit gives
# the bits the compilation that stored it gave and does not write; an entry damaged anywhere (header,
# version, code, weights, cut short, empty) or another model's is compiled again and replaced; two
# processes compiling one model at once both succeed and leave one whole entry; --no-cache and a
# directory that cannot be created leave nothing and still run.
source "$(dirname "$0")/lib/common.bash"
M=$SRC/tests/graphs/aot_two_io/model.onnx
IN=$SRC/tests/graphs/aot_two_io/test_data_set_0
OTHER=$SRC/tests/graphs/gather_rows
export VITC_CACHE_DIR=$TMP/cache

# run_model OUTDIR [ARGS...]: runs the model on its data set into OUTDIR, expecting success.
run_model() {
  local out=$1
  shift
  vitc run "$M" "$IN/input_0.pb" "$IN/input_1.pb" -o "$out" "$@"
  expect_status 0
}
# same_outputs DIR: DIR's outputs are the first run's, bit for bit.
same_outputs() {
  for f in "$TMP/first"/*.pb; do
    cmp -s "$f" "$1/$(basename "$f")" || fail "$1/$(basename "$f") differs from the first run's"
  done
}
entries() { find "$VITC_CACHE_DIR" -name '*.jit' 2>/dev/null | wc -l; }
flip_byte() { /usr/bin/python3 -c 'import sys
p, at = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[at] ^= 0xff; open(p, "wb").write(b)' "$1" "$2"; }

# A miss stores one entry; a hit reads it without writing it and gives the same bits.
run_model "$TMP/first"
[ "$(entries)" = 1 ] || fail "expected one entry after the first run, found $(entries)"
entry=$(find "$VITC_CACHE_DIR" -name '*.jit')
cp "$entry" "$TMP/good"
inode=$(stat -c %i "$entry")
run_model "$TMP/hit"
same_outputs "$TMP/hit"
[ "$(stat -c %i "$entry")" = "$inode" ] || fail "a hit wrote the entry again"

# Damaged entries: each is noticed, compiled again and replaced by a whole one. The header (cache.c's
# entry_header) says where the weights begin (a page) and the metadata after them (the key's description
# first, the objects' code last).
size=$(stat -c %s "$TMP/good")
header_u64() { /usr/bin/python3 -c 'import struct, sys
print(struct.unpack_from("<Q", open(sys.argv[1], "rb").read(), int(sys.argv[2]))[0])' "$TMP/good" "$1"; }
meta_at=$(header_u64 72) weights_at=$(header_u64 96)
[ "$weights_at" -ge 4096 ] && [ "$meta_at" -gt "$weights_at" ] && [ "$size" -gt $((meta_at + 2000)) ] ||
  fail "the entry ($size bytes) should hold a weights blob from byte $weights_at, then the metadata from $meta_at"
for damage in "magic 0" "version 16" "key 50" "description $((meta_at + 10))" "code $((size - 1))" "weights $weights_at" \
              "truncated" "empty" "another-model"; do
  set -- $damage
  cp "$TMP/good" "$entry"
  case $1 in
  truncated) truncate -s $((size / 2)) "$entry" ;;
  empty) : >"$entry" ;;
  another-model)
    rm -rf "$TMP/other_cache"
    VITC_CACHE_DIR=$TMP/other_cache "$VITC" run "$OTHER/model.onnx" "$OTHER/test_data_set_0/input_0.pb" -o "$TMP/o" >/dev/null
    cp "$TMP"/other_cache/*.jit "$entry" ;;
  *) flip_byte "$entry" "$2" ;;
  esac
  run_model "$TMP/$1"
  same_outputs "$TMP/$1"
  cmp -s "$entry" "$TMP/good" || fail "the entry with a damaged $1 was not replaced by a whole one"
done

# Two processes compiling the model at once into an empty directory: both succeed, one whole entry stays.
rm -rf "$VITC_CACHE_DIR"
"$VITC" run "$M" "$IN/input_0.pb" "$IN/input_1.pb" -o "$TMP/race1" >"$TMP/race1.log" 2>&1 &
first=$!
"$VITC" run "$M" "$IN/input_0.pb" "$IN/input_1.pb" -o "$TMP/race2" >"$TMP/race2.log" 2>&1
second=$?
wait $first || fail "the first of two racing processes failed: $(cat "$TMP/race1.log")"
[ $second = 0 ] || fail "the second of two racing processes failed: $(cat "$TMP/race2.log")"
same_outputs "$TMP/race1"
same_outputs "$TMP/race2"
[ "$(find "$VITC_CACHE_DIR" -type f | wc -l)" = 1 ] || fail "racing processes left $(ls "$VITC_CACHE_DIR")"
cmp -s "$(find "$VITC_CACHE_DIR" -name '*.jit')" "$TMP/good" || fail "racing processes left a different entry"

# --no-cache neither reads nor writes the cache.
rm -rf "$VITC_CACHE_DIR"
run_model "$TMP/none" --no-cache
same_outputs "$TMP/none"
[ ! -e "$VITC_CACHE_DIR" ] || fail "--no-cache wrote $(ls "$VITC_CACHE_DIR")"

# A directory that cannot be created (under a regular file): no caching, no error.
: >"$TMP/file"
export VITC_CACHE_DIR=$TMP/file/cache
run_model "$TMP/unwritable"
[ ! -s "$TMP/stderr" ] || fail "an unwritable cache directory printed something"
same_outputs "$TMP/unwritable"

finish
