#!/bin/bash
# run.sh - runs the test suite of one build variant and prints one closing line
# "tests: N passed, N failed".
#
#   O=build/check tests/run.sh           everything: unit, integration, crash, fuzz smoke
#   ONLY=unit T=test_wal tests/run.sh    a subset (ONLY: unit|integration|crash|fuzz)
#
# The integration and crash suites run once on each FUSE transport (TRANSPORTS, default
# "uring nouring": lsmfs -o uring, with the kernel's enable_uring switched on when root
# can, then -o nouring, i.e. read/write on /dev/fuse); names of the second run carry
# "[nouring]".
#
# Every test is one program or script; exit status 0 is a pass, 77 a skip (with a reason on
# its output), anything else a failure. Integration and crash scripts receive the build
# folder in $O and must clean up (unmount) after themselves even on failure.
set -u
O=${O:-build/check}
[ -d "$O" ] || { echo "run.sh: no build folder $O (run make first)" >&2; exit 2; }
O=$(cd "$O" && pwd) # absolute: tests may change directory
ONLY=${ONLY:-}
T=${T:-}
pass=0; fail=0; skip=0; failed=()

run_one() { # name, command...
    local name=$1; shift
    if [ -n "$T" ] && [[ "$name" != *"$T"* ]]; then return; fi
    echo "=== $name"
    local start=$SECONDS
    "$@"
    local rc=$?
    if [ $rc -eq 0 ]; then pass=$((pass + 1)); echo "--- ok   $name ($((SECONDS - start))s)"
    elif [ $rc -eq 77 ]; then skip=$((skip + 1)); echo "--- skip $name"
    else fail=$((fail + 1)); failed+=("$name"); echo "--- FAIL $name (exit $rc)"; fi
}

if [ -z "$ONLY" ] || [ "$ONLY" = unit ]; then
    for t in "$O"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "unit/$(basename "$t")" "$t"
    done
fi
TRANSPORTS=${TRANSPORTS:-uring nouring}
case " $TRANSPORTS " in *" uring "*) tools/enable-uring.sh ;; esac
for kind in integration crash fuzz; do
    if [ -z "$ONLY" ] || [ "$ONLY" = $kind ]; then
        trs=$TRANSPORTS
        [ $kind = fuzz ] && trs=default # no mounts
        for tr in $trs; do
            tag=""
            [ "$tr" = nouring ] && tag="[nouring]"
            [ "$tr" = default ] && tr=""
            for t in tests/$kind/test_*.sh; do
                [ -f "$t" ] || continue
                run_one "$kind$tag/$(basename "$t" .sh)" \
                    env O="$O" LSMFS_TRANSPORT="$tr" bash "$t"
            done
        done
    fi
done

echo
if [ $fail -ne 0 ]; then printf 'failed: %s\n' "${failed[@]}"; fi
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
