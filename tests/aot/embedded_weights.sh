# embedded_weights.sh — the weights of an object are written over NAME_weights' zeros in its ELF section
# after LLVM (backend/aot.c), so that neither LLVM nor its assembler holds a copy: the section holds the
# same bytes as a --weights side file, the object runs; an object format other than ELF, and assembly,
# get them as the constant's initializer instead.
source "$(dirname "$0")/lib.bash"

OBJCOPY=$(command -v llvm-objcopy-16 || command -v llvm-objcopy)
mkdir -p "$TMP/side" "$TMP/macho"
run "$VITC" compile "$MODEL" -o "$TMP/side/two_io.o" --name two_io --weights "$TMP/side.weights"
expect_status 0
run "$VITC" compile "$MODEL" -o "$TMP/two_io.o" --name two_io
expect_status 0
run "$OBJCOPY" --dump-section .rodata.vitc.two_io_weights="$TMP/section.bin" "$TMP/two_io.o"
expect_status 0
cmp -s "$TMP/section.bin" "$TMP/side.weights" || fail "the object's weights section differs from the weights file"
grep -q '[^[:space:]]' <(tr -d '\0' <"$TMP/section.bin") || fail "the object's weights section is all zeros"
build_host "$TMP" "$TMP/host"
run "$TMP/host" "$DATA"
expect_status 0
expect_stdout "match$"

# Mach-O: no ELF section to write into; the blob is in the object as LLVM wrote it
run "$VITC" compile "$MODEL" -o "$TMP/macho/two_io.o" --name two_io --target x86_64-apple-macosx13
expect_status 0
/usr/bin/python3 -c 'import sys; sys.exit(open(sys.argv[2], "rb").read().find(open(sys.argv[1], "rb").read()) < 0)' \
  "$TMP/side.weights" "$TMP/macho/two_io.o" || fail "the Mach-O object does not hold the weights"

# assembly: the blob as data directives, no zero fill standing for it
run "$VITC" compile "$MODEL" -o "$TMP/two_io.s" --name two_io --emit asm
expect_status 0
expect_file_matches "$TMP/two_io.s" "^two_io_weights:"
grep -A2 "^two_io_weights:" "$TMP/two_io.s" | grep -q "\.zero" && fail "the assembly's weights are zeros"
finish
