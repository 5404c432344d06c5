#!/bin/bash
# cluster.sh - a throw-away one-node Ceph cluster on loopback, for the RADOS tests.
#
#   tests/rados/cluster.sh start DIR    bring it up inside DIR (created; must be empty/new)
#   tests/rados/cluster.sh stop DIR     kill its daemons (by their pid files) and wait
#
# One ceph-mon and one ceph-osd (memstore: objects live in the OSD's memory, nothing on
# disk but the mon's small store), cephx on with a generated keyring, pool "lsmfs" of size 1,
# ports picked free on 127.0.0.1. Everything - config, keyring, logs, pid files, sockets -
# stays in DIR; nothing touches /etc/ceph or /var/lib/ceph. On success "start" prints the
# config path (DIR/ceph.conf) and exits 0; client.admin's key is in DIR/keyring, which the
# config names, so `rados -c DIR/ceph.conf ...` just works.
#
# Exit 77 (with a reason on stderr) when the Ceph daemons are not installed; any other
# failure exits 1 after stopping whatever it started. Callers should still run "stop" from
# their EXIT trap: it is idempotent and safe on a half-started cluster.
set -u
cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
POOL=${RADOS_POOL:-lsmfs}

stop_cluster() {
    local pf pid
    for pf in "$DIR"/run/*.pid; do
        [ -f "$pf" ] || continue
        pid=$(cat "$pf" 2>/dev/null) || continue
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    done
    for pf in "$DIR"/run/*.pid; do
        [ -f "$pf" ] || continue
        pid=$(cat "$pf" 2>/dev/null) || continue
        [ -n "$pid" ] || continue
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        rm -f "$pf"
    done
}

if [ "$cmd" = stop ]; then
    stop_cluster
    exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

for b in ceph-mon ceph-osd monmaptool ceph-authtool ceph rados; do
    command -v $b >/dev/null || { echo "SKIP: $b not installed (make deps RADOS=1 installs" \
        "ceph-mon, ceph-osd, ceph-common)" >&2; exit 77; }
done

die() { echo "cluster.sh: $*" >&2; stop_cluster; exit 1; }

free_port() { # a port nobody listens on, from a range away from the usual ones
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo $p; return; }
    done
    echo 0
}

mkdir -p "$DIR"/run "$DIR"/log "$DIR"/mon.a "$DIR"/osd.0 || die "cannot create $DIR"
DIR=$(cd "$DIR" && pwd)
MON_PORT=$(free_port)
FSID=$(cat /proc/sys/kernel/random/uuid)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
CONF=$DIR/ceph.conf
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon osd full ratio = .99
mon osd nearfull ratio = .97
mon osd backfillfull ratio = .98
mon pg warn min per osd = 0
rados mon op timeout = 10
rados osd op timeout = 30
client mount timeout = 15
# In [global] too so clients (lsmfs) read the same limit (env RADOS_MAX_OBJECT, bytes).
osd max object size = ${RADOS_MAX_OBJECT:-134217728}
[mon]
mon data = $DIR/mon.\$id
mon cluster log file = $DIR/log/cluster.log
[osd]
osd data = $DIR/osd.\$id
osd objectstore = memstore
memstore device bytes = ${RADOS_OSD_BYTES:-2147483648}
osd max object size = ${RADOS_MAX_OBJECT:-134217728}
osd op num shards = 1
osd op num threads per shard = 2
osd memory target = 939524096
osd heartbeat grace = 60
osd crush update on start = true
osd class load list = lock
osd class default list = lock
EOF

t0=$(date +%s.%N)
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null &&
ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' \
    --cap osd 'allow *' --cap mgr 'allow *' >/dev/null || die "ceph-authtool failed"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" \
    >/dev/null || die "monmaptool failed"
ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
    >"$DIR/log/mkfs.log" 2>&1 || die "ceph-mon --mkfs failed: $(tail -3 "$DIR/log/mkfs.log")"
ceph-mon -c "$CONF" -i a >>"$DIR/log/mkfs.log" 2>&1 || die "ceph-mon failed to start"

C=(ceph -c "$CONF" --connect-timeout 20)
"${C[@]}" osd new "$OSD_UUID" >/dev/null 2>"$DIR/log/osdnew.log" ||
    die "mon not answering: $(tail -3 "$DIR/log/osdnew.log")"
"${C[@]}" auth get-or-create osd.0 mon 'allow profile osd' osd 'allow *' \
    mgr 'allow profile osd' -o "$DIR/osd.0/keyring" 2>>"$DIR/log/osdnew.log" ||
    die "auth for osd.0 failed"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" --keyring "$DIR/osd.0/keyring" \
    >>"$DIR/log/mkfs.log" 2>&1 || die "ceph-osd --mkfs failed: $(tail -3 "$DIR/log/mkfs.log")"
ceph-osd -c "$CONF" -i 0 --keyring "$DIR/osd.0/keyring" >>"$DIR/log/mkfs.log" 2>&1 ||
    die "ceph-osd failed to start"
"${C[@]}" osd pool create "$POOL" 8 8 >/dev/null 2>>"$DIR/log/osdnew.log" ||
    die "pool create failed: $(tail -3 "$DIR/log/osdnew.log")"
"${C[@]}" osd pool set "$POOL" size 1 --yes-i-really-mean-it >/dev/null 2>&1
"${C[@]}" osd pool application enable "$POOL" lsmfs >/dev/null 2>&1
# Ready when an object round-trips through the pool.
ok=0
for _ in $(seq 120); do
    if timeout 10 rados -c "$CONF" -p "$POOL" put .probe "$CONF" 2>/dev/null &&
       timeout 10 rados -c "$CONF" -p "$POOL" rm .probe 2>/dev/null; then ok=1; break; fi
    sleep 0.5
done
[ $ok = 1 ] || die "pool $POOL never became writable (see $DIR/log)"
t1=$(date +%s.%N)
echo "cluster.sh: up in $(echo "$t1 - $t0" | bc 2>/dev/null || echo '?')s, conf $CONF" >&2
echo "$CONF"
