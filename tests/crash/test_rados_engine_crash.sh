#!/bin/bash
# test_rados_engine_crash.sh - the engine's crash test (tests/tools/crashtest.c) on a store in
# Ceph RADOS, against a one-node cluster this test starts in its temp folder
# (tests/rados/cluster.sh) and always stops.
#
# Kill rounds only: a forked writer (4 threads of puts, deletes, range deletes and batches)
# is SIGKILLed at a random moment, possibly during open or recovery; the store is reopened
# once the dead writer's lock lease (3 s here) has run out, and checked:
# every acknowledged write is there, each thread's keys hold a prefix of its history, table
# checksums pass, forward and backward scans and point reads agree. Power cuts stay with
# test_engine_crash.sh: they rewrite a local folder. The forked writers also exercise the
# RADOS client's fork handling: the child of a connected process connects afresh, with an
# address of its own (the opener fences each dead writer before it locks; when children
# inherited the parent's nonce generator, that fenced the next writer too: ESHUTDOWN).
#
#   O=build/check tests/crash/test_rados_engine_crash.sh [--seed N] [--rounds N]
set -u
O=${O:-build/check}
O=$(cd "$O" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../rados/testlib.sh"
bin=$O/tools/crashtest
[ -x "$bin" ] || skip "no $bin (make O=$O DEFS=-DLSM_TESTING tests)"
nm "$bin" 2>/dev/null | grep -q rados_connect || ldd "$bin" | grep -q librados ||
    skip "this build has no RADOS support (librados-dev missing at build time)"
seed=${CRASH_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
rounds=8
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "usage: $0 [--seed N] [--rounds N]" >&2; exit 2 ;;
    esac
done

T=$(mktemp -d /tmp/lsm-rengine.XXXXXX) || exit 1
trap 'bash "$HERE/../rados/cluster.sh" stop "$T/cluster"; rm -rf "$T"' EXIT
rados_test_cluster "$T/cluster"
export LSMFS_RADOS_CONF=$CONF LSMFS_RADOS_LEASE=3 LSMFS_RADOS_TIMEOUT=20
echo "test_rados_engine_crash: seed $seed (reproduce: $0 --seed $seed --rounds $rounds)"
t0=$SECONDS
"$bin" --dir rados://lsmfs/engine --ack "$T/ack" --seed "$seed" --kill-rounds "$rounds" \
    --cut-rounds 0 > "$T/out" 2>&1
rc=$?
tail -n 3 "$T/out"
[ $rc -eq 0 ] || fail "crashtest on the RADOS store failed (exit $rc, seed $seed)"
grep -q "$rounds kill rounds, 0 power cuts.*: ok\$" "$T/out" ||
    fail "crashtest did not report $rounds verified kill rounds"
# refused with a clear line: power cuts on RADOS, or no local ack file
"$bin" --dir rados://lsmfs/engine --kill-rounds 1 --cut-rounds 1 --ack "$T/ack2" \
    > "$T/bad" 2>&1
[ $? -eq 2 ] && grep -q "kill rounds only" "$T/bad" || fail "power cuts on RADOS were not refused"
echo "test_rados_engine_crash: $FAILS failure(s), $((SECONDS - t0)) s"
exit $((FAILS > 0))
