#!/bin/bash
# test_engine_crash.sh - the engine's crash test (tests/tools/crashtest.c): SIGKILL rounds
# and simulated power cuts on one store, each followed by reopen and verification.
#
#   O=build/check tests/crash/test_engine_crash.sh                 short: 15 kills + 10 cuts
#   O=build/check tests/crash/test_engine_crash.sh --duration 3600 long, by hand
#   ... [--seed N] [--threads T] [-v]                              reproduce / more output
#
# The seed is printed first; a failure prints the round, thread and key that broke and
# leaves the store in $CRASH_KEEP (if set) for inspection.
set -u
O=${O:-build/check}
bin="$O/tools/crashtest"
if [ ! -x "$bin" ]; then
    echo "skip: $bin not built (make O=$O DEFS=-DLSM_TESTING tests)"
    exit 77
fi
seed=${CRASH_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
args=(--seed "$seed")
mode=(--kill-rounds 15 --cut-rounds 10)
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) mode=(--duration "$2"); shift 2 ;;
        --seed) args=(--seed "$2"); shift 2 ;;
        --threads) args+=(--threads "$2"); shift 2 ;;
        -v) args+=(-v); shift ;;
        *) echo "usage: $0 [--duration SECS] [--seed N] [--threads T] [-v]" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d /tmp/lsm-crash.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
"$bin" --dir "$work/store" "${args[@]}" "${mode[@]}"
rc=$?
if [ $rc -ne 0 ] && [ -n "${CRASH_KEEP:-}" ]; then
    rm -rf "$CRASH_KEEP" && cp -a "$work/store" "$CRASH_KEEP" && echo "store kept in $CRASH_KEEP"
fi
exit $rc
