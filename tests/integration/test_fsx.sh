#!/bin/bash
# test_fsx.sh - data integrity: tests/tools/fsx (random writes, reads, truncates, fallocate,
# punch-hole, mmap, page-cache drops) against its in-memory model, on files up to 4 MiB with
# holes; a fixed seed (reproducible) and a fresh one each run (printed, rerun with
# FSX_SEED=<seed>); then unmount, remount and compare every file with its final model.
# FSX_SCALE=k multiplies the op counts (default 1 keeps the suite inside its time budget;
# use 10 or more for a soak run). -T makes fsx print the mean time of each op type.
. "$(dirname "$0")/lib.sh"
fs_require_tool fsx
fs_setup

X=()
# passthrough_ll only offers mode-0 fallocate; ext4 and lsmfs get the full set.
[ "$LSMFS_TARGET" = passthrough ] && X+=(-F)
SEED2=${FSX_SEED:-$(( (RANDOM << 15) | RANDOM ))}
K=${FSX_SCALE:-1}
mkdir "$MNT/fsx"
run_tool 300 "$TOOLS/fsx" "${X[@]}" -T -S 20240601 -N $((3000 * K)) -l $((4 << 20)) -o $((256 << 10)) \
    -m "$TMPROOT/model.big" "$MNT/fsx/big"
run_tool 300 "$TOOLS/fsx" "${X[@]}" -T -S "$SEED2" -N $((3000 * K)) -l $((3 << 20)) -o $((64 << 10)) \
    -m "$TMPROOT/model.rand" "$MNT/fsx/rand"
# small file, small ops: block edges, partial blocks, tail handling
run_tool 300 "$TOOLS/fsx" "${X[@]}" -T -S 7 -N $((5000 * K)) -l $((64 << 10)) -o 9000 \
    -m "$TMPROOT/model.small" "$MNT/fsx/small"

fs_remount
for f in big rand small; do
    assert_same_file "$TMPROOT/model.$f" "$MNT/fsx/$f"
done
# the files keep working after remount
run_tool 300 "$TOOLS/fsx" "${X[@]}" -T -S 99 -N $((1000 * K)) -l $((1 << 20)) -o $((64 << 10)) "$MNT/fsx/after"
fs_done
