#!/bin/bash
# test_fuzz_smoke.sh - builds every libFuzzer target (tests/fuzz/fuzz.mk, into $O/fuzz) and
# runs each for a few seconds from the seed corpus: the decoders must survive the seeds and
# a few thousand mutations under ASan + UBSan. Skips (77) when clang or its fuzzer runtime
# (libclang-rt-dev) is missing. FUZZ_SMOKE_TIME sets the seconds per target (default 5).
set -u
O=${O:-build/check}
FUZZ_O="$O/fuzz"
secs=${FUZZ_SMOKE_TIME:-5}
cd "$(dirname "$0")/../.." || exit 1
if ! command -v clang >/dev/null; then
    echo "skip: clang not installed"
    exit 77
fi
probe=$(mktemp -d /tmp/lsm-fuzzprobe.XXXXXX)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
    > "$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" 2>/dev/null; then
    echo "skip: clang's fuzzer runtime is missing (libclang-rt-dev)"
    exit 77
fi
if ! make -s -j2 -f tests/fuzz/fuzz.mk FUZZ_O="$FUZZ_O" all >"$probe/build.log" 2>&1; then
    cat "$probe/build.log"
    echo "FAIL: building the fuzz targets"
    exit 1
fi
rc=0
for bin in "$FUZZ_O"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/fuzz_}
    mkdir -p "$probe/corpus/$name" "$probe/crash/$name"
    cp tests/fuzz/corpus/"$name"/* "$probe/corpus/$name/" 2>/dev/null
    "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$probe/crash/$name/" \
        "$probe/corpus/$name" >"$probe/$name.log" 2>&1
    r=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$probe/$name.log")
    if [ $r -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|^ *#[0-9]+ 0x' "$probe/$name.log" | head -30
        mkdir -p "$FUZZ_O/crashes/$name" && cp "$probe/crash/$name/"* "$FUZZ_O/crashes/$name/" 2>/dev/null
        echo "FAIL: fuzz_$name after ${execs:-?} executions (input kept in $FUZZ_O/crashes/$name/)"
        rc=1
    else
        echo "fuzz_$name: ${execs:-?} executions in ${secs} s, no crash"
    fi
done
exit $rc
