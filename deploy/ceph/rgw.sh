#!/usr/bin/env bash
# A throwaway single-node Ceph RGW (S3 + bucket notifications) on 127.0.0.1, for tests and local development.
#
#   deploy/ceph/rgw.sh start  [DIR]   start it (idempotent), wait until S3 answers, create the test user
#   deploy/ceph/rgw.sh env    [DIR]   print `export S3_ENDPOINT=... MINIO_ENDPOINT=...` lines for `eval`
#   deploy/ceph/rgw.sh status [DIR]   exit 0 when it is running and answering
#   deploy/ceph/rgw.sh stop   [DIR]   stop exactly the daemons it started (pids in DIR/pids); keeps DIR/log only
#
# One ceph-mon, one ceph-osd with the memstore backend (data in RAM, ~170 MB), radosgw with the beast frontend;
# cephx off, no mgr. Everything (config, logs, pid files, admin sockets) lives under DIR (default /tmp/lg-rgw;
# keep it short: admin sockets are unix sockets, ~100 characters at most). Not for production data.
#
# Environment: RGW_PORT (default 7480; when unset and 7480 is taken a free port is used), RGW_TIMEOUT (seconds
# to wait for S3, default 60), RGW_ACCESS_KEY / RGW_SECRET_KEY (the test user's fixed keys).
# Needs Debian's packages: apt-get install radosgw ceph-mon ceph-osd ceph-common
set -euo pipefail

ACTION=${1:-}
DIR=${2:-${RGW_DIR:-/tmp/lg-rgw}}
TIMEOUT=${RGW_TIMEOUT:-60}
ACCESS_KEY=${RGW_ACCESS_KEY:-lgtestaccesskey}
SECRET_KEY=${RGW_SECRET_KEY:-lgtestsecretkey0123456789}
DAEMONS=(radosgw osd.0 mon.a)

die() { echo "rgw.sh: $*" >&2; exit 1; }

usage() { die "usage: $0 start|stop|status|env [DIR]   (DIR defaults to /tmp/lg-rgw)"; }

need_packages() {
  local missing=() cmd
  for cmd in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if ((${#missing[@]})); then
    die "missing ${missing[*]}: apt-get install radosgw ceph-mon ceph-osd ceph-common"
  fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {  # the first port from $1 up that nothing listens on
  local port=$1
  while port_busy "$port"; do
    port=$((port + 1))
    ((port < 65000)) || die "no free port found from $1"
  done
  echo "$port"
}

pid_of() {  # the pid we recorded for a daemon, if that process is alive and is still that daemon
  local file="$DIR/pids/$1" pid exe
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case "$1:${exe##*/}" in
    radosgw:radosgw | osd.*:ceph-osd | mon.*:ceph-mon) echo "$pid" ;;
    *) return 1 ;;
  esac
}

spawn() {  # spawn NAME CMD...: run a daemon in the foreground of its own session, its pid in DIR/pids/NAME
  setsid "${@:2}" -f </dev/null >>"$DIR/log/$1.out" 2>&1 &
  echo "$!" >"$DIR/pids/$1"
  sleep 0.2
  pid_of "$1" >/dev/null || fail_start "$1 did not start: $(tail -n 3 "$DIR/log/$1.out" | tr '\n' ' ')"
}

s3_answers() {  # an anonymous ListBuckets gets "200" once RGW serves S3 (bash's /dev/tcp: no curl needed)
  local status
  # shellcheck disable=SC2016  # $0 is expanded by the inner bash
  status=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && head -c 12 <&3' "$1" 2>/dev/null) || return 1
  [[ $status == HTTP/1.?" 200" ]]
}

running() {
  local name
  [[ -s $DIR/port ]] || return 1
  for name in "${DAEMONS[@]}"; do pid_of "$name" >/dev/null || return 1; done
  s3_answers "$(<"$DIR/port")"
}

stop_daemons() {  # SIGTERM to each daemon we recorded, in turn (radosgw, OSD, mon: each stops while the ones it
  # talks to are still there; all at once takes longer), SIGKILL to one still there after 10 s (the data is throwaway)
  local name pid deadline
  for name in "${DAEMONS[@]}"; do
    pid=$(pid_of "$name") || continue
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

log_tail() {
  local file
  for file in "$DIR"/log/*.log "$DIR"/log/*.out; do
    [[ -f $file ]] || continue
    echo "----- $file" >&2
    tail -n 15 "$file" >&2
  done
}

fail_start() {
  echo "rgw.sh: $*" >&2
  log_tail
  stop_daemons
  exit 1
}

ceph_cli() { timeout 20 ceph -c "$DIR/ceph.conf" --connect-timeout 15 "$@"; }

write_conf() {
  local fsid=$1 mon_port=$2 rgw_port=$3
  cat >"$DIR/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = $DIR/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# pool creation (RGW makes ~7 pools at first start) waits for paxos rounds: 1 s each by default
paxos propose interval = 0.1
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = memstore
# the OSD's own start-up crush commands can reach the mon before its monmap (fsid 0: 'wrong fsid', exit);
# rgw.sh places osd.0 in the crush map itself
osd crush update on start = false
osd class update on start = false
memstore device bytes = 2147483648
run dir = $DIR/run
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
crash dir = $DIR/crash
[mon.a]
mon data = $DIR/mon
[osd.0]
osd data = $DIR/osd0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $DIR/rgw
CONF
}

start() {
  need_packages
  if running; then
    echo "rgw.sh: already running on http://127.0.0.1:$(<"$DIR/port") ($DIR)"
    return 0
  fi
  stop_daemons  # leftovers of an earlier run (only ours: pids from DIR)
  local rgw_port mon_port fsid
  if [[ -n ${RGW_PORT:-} ]]; then
    rgw_port=$RGW_PORT
    ! port_busy "$rgw_port" || die "port $rgw_port is in use (unset RGW_PORT to pick a free one)"
  else
    rgw_port=$(free_port 7480)
  fi
  mon_port=$(free_port 16789)
  [[ $mon_port != "$rgw_port" ]] || mon_port=$(free_port $((rgw_port + 1)))

  if [[ -d $DIR && -n $(ls -A "$DIR") && ! -e $DIR/ceph.conf && ! -d $DIR/log ]]; then
    die "$DIR is not empty and not an rgw.sh folder: give an empty or new one"
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"/{mon,osd0,run,log,rgw,crash,pids}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid" "$mon_port" "$rgw_port"
  local started=$SECONDS conf=$DIR/ceph.conf

  monmaptool --create --add a "v1:127.0.0.1:$mon_port" --fsid "$fsid" "$DIR/monmap" >/dev/null \
    || fail_start "monmaptool failed"
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null \
    || fail_start "ceph-authtool failed"
  ceph-mon -c "$conf" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" >"$DIR/log/mkfs.log" 2>&1 \
    || fail_start "ceph-mon --mkfs failed"
  spawn mon.a ceph-mon -c "$conf" -i a
  ceph_cli osd create >/dev/null 2>>"$DIR/log/mkfs.log" || fail_start "the monitor does not answer"
  ceph-osd -c "$conf" -i 0 --mkfs >>"$DIR/log/mkfs.log" 2>&1 || fail_start "ceph-osd --mkfs failed"
  spawn osd.0 ceph-osd -c "$conf" -i 0
  ceph_cli osd crush add osd.0 1 root=default >/dev/null 2>>"$DIR/log/mkfs.log" || fail_start "osd crush add failed"
  spawn radosgw radosgw -c "$conf" -n client.rgw
  echo "$rgw_port" >"$DIR/port"

  local deadline=$((started + TIMEOUT)) name
  until s3_answers "$rgw_port"; do
    for name in "${DAEMONS[@]}"; do
      pid_of "$name" >/dev/null || fail_start "$name exited while starting (logs in $DIR/log)"
    done
    ((SECONDS < deadline)) || fail_start "S3 did not answer on 127.0.0.1:$rgw_port within ${TIMEOUT} s"
    sleep 0.5
  done
  timeout 30 radosgw-admin -c "$conf" user create --uid=lgtest --display-name="LookingGlass tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$DIR/log/mkfs.log" \
    || fail_start "radosgw-admin user create failed"
  echo "rgw.sh: RGW ready on http://127.0.0.1:$rgw_port in $((SECONDS - started)) s ($DIR)"
}

print_env() {
  [[ -s $DIR/port ]] || die "not started: no $DIR/port (run: $0 start $DIR)"
  local endpoint
  endpoint="http://127.0.0.1:$(<"$DIR/port")"
  echo "export S3_ENDPOINT=$endpoint S3_ACCESS_KEY=$ACCESS_KEY S3_SECRET_KEY=$SECRET_KEY"
  echo "export MINIO_ENDPOINT=$endpoint MINIO_ACCESS_KEY=$ACCESS_KEY MINIO_SECRET_KEY=$SECRET_KEY"
}

stop() {
  [[ -d $DIR ]] || return 0
  stop_daemons
  # the data lived in the OSD's memory; drop the rest but the logs, and only if it looks like ours
  if [[ -f $DIR/ceph.conf && -d $DIR/run ]]; then
    rm -rf "$DIR"/{mon,osd0,run,rgw,crash,pids,ceph.conf,keyring,monmap,port}
  fi
}

case "$ACTION" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  status) if running; then echo "running on http://127.0.0.1:$(<"$DIR/port")"; else echo "not running"; exit 1; fi ;;
  *) usage ;;
esac
