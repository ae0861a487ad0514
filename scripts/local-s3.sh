#!/usr/bin/env bash
# A real, single-node S3 server on 127.0.0.1 for tests, examples and benchmarks:
# Ceph radosgw (beast) over one mon and one memstore OSD, all under one folder.
#
#   scripts/local-s3.sh start [DIR]   bring it up (DIR defaults to a new temp folder), print env
#   scripts/local-s3.sh env   [DIR]   print AWS_ENDPOINT_URL_S3=... lines for a running server
#   scripts/local-s3.sh stop  [DIR]   stop every daemon and remove DIR
#
# DIR may also come from BUCKETFLOW_S3_DIR. Without DIR, env and stop use the folder of the
# last `start` (recorded in ${TMPDIR:-/tmp}/bucketflow-s3.last).
# Settings: BUCKETFLOW_S3_PORT (default: a free port), BUCKETFLOW_S3_MEMSTORE_BYTES (default
# 8 GiB; memstore keeps every stored byte in RAM).
set -euo pipefail

ACCESS_KEY=${BUCKETFLOW_S3_ACCESS_KEY:-bucketflow-test-key}
SECRET_KEY=${BUCKETFLOW_S3_SECRET_KEY:-bucketflow-test-secret-0123456789}
REGION=us-east-1
LAST_FILE="${TMPDIR:-/tmp}/bucketflow-s3.last"
STORAGE_CLASSES=(STANDARD_IA GLACIER DEEP_ARCHIVE)

log() { echo "local-s3: $*" >&2; }
die() { echo "local-s3: error: $*" >&2; exit 1; }

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# Wait up to $1 seconds for the command that follows to succeed.
wait_for() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}

ensure_binaries() {
  local missing=()
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Ceph (missing: ${missing[*]}) with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq ceph-mon ceph-osd radosgw ceph-common >&2
  else
    die "Ceph binaries missing (${missing[*]}). Install them as root on Debian/Ubuntu with:
  apt-get install -y ceph-mon ceph-osd radosgw ceph-common
or point the tests at another S3 server with S3_ENDPOINT=http://127.0.0.1:PORT (plus
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)."
  fi
}

resolve_dir() {
  local dir=${1:-${BUCKETFLOW_S3_DIR:-}}
  if [ -z "$dir" ] && [ -f "$LAST_FILE" ]; then dir=$(cat "$LAST_FILE"); fi
  [ -n "$dir" ] || die "no server folder given and no server started"
  echo "$dir"
}

print_env() {
  local dir=$1
  [ -f "$dir/env" ] || die "no running server in $dir"
  cat "$dir/env"
}

rgw_up() { node -e "
  require('http').get('$1', r => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"; }

start() {
  ensure_binaries
  local dir=${1:-${BUCKETFLOW_S3_DIR:-}}
  if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/bucketflow-s3.XXXXXX"); fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local mon_port rgw_port fsid conf
  mon_port=$(free_port)
  rgw_port=${BUCKETFLOW_S3_PORT:-$(free_port)}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  conf="$dir/ceph.conf"
  mkdir -p "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/log"
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port]
ms_bind_msgr1 = false
ms_mon_client_mode = crc
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
log_file = $dir/log/\$name.log
pid_file = $dir/run/\$name.pid
keyring = $dir/keyring
mon_data = $dir/mon/\$name
osd_data = $dir/osd/\$name
osd_objectstore = memstore
memstore_device_bytes = ${BUCKETFLOW_S3_MEMSTORE_BYTES:-8589934592}
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
osd_max_object_name_len = 2048
mon_warn_on_pool_no_redundancy = false
mon_allow_pool_delete = true
debug_ms = 0
[client.rgw.local]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_data = $dir/rgw
rgw_dns_name = 127.0.0.1
# memstore keeps deleted objects in RAM until garbage collection (default: hours later)
rgw_gc_obj_min_wait = 30
rgw_gc_processor_period = 30
CONF
  echo "$dir" >"$LAST_FILE"
  local C=(-c "$conf")

  log "mon on 127.0.0.1:$mon_port (folder $dir)"
  monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
  ceph-mon "${C[@]}" -i a
  wait_for 60 timeout 10 ceph "${C[@]}" mon stat || die "mon did not come up (see $dir/log)"

  log "osd (memstore)"
  local osd_uuid osd_id
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(timeout 30 ceph "${C[@]}" osd new "$osd_uuid")
  mkdir -p "$dir/osd/osd.$osd_id"
  ceph-osd "${C[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  ceph-osd "${C[@]}" -i "$osd_id" 2>>"$dir/log/osd-start.log"
  wait_for 90 bash -c "timeout 10 ceph -c '$conf' osd stat | grep -q '1 up'" || die "osd did not come up (see $dir/log)"

  log "S3 user and storage classes"
  local A=(timeout 60 radosgw-admin "${C[@]}" -n client.rgw.local)
  # Creating the user also creates the default zonegroup and zone the placements go into.
  "${A[@]}" user create --uid=bucketflow --display-name=bucketflow \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  for sc in "${STORAGE_CLASSES[@]}"; do
    local pool
    pool="default.rgw.$(echo "$sc" | tr 'A-Z_' 'a-z-').data"
    "${A[@]}" zonegroup placement add --rgw-zonegroup default --placement-id default-placement \
      --storage-class "$sc" >/dev/null
    "${A[@]}" zone placement add --rgw-zone default --placement-id default-placement \
      --storage-class "$sc" --data-pool "$pool" >/dev/null
  done

  log "radosgw on 127.0.0.1:$rgw_port"
  radosgw "${C[@]}" -n client.rgw.local
  wait_for 120 rgw_up "http://127.0.0.1:$rgw_port/" || die "radosgw did not answer (see $dir/log)"

  cat >"$dir/env" <<ENV
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$rgw_port
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=$REGION
BUCKETFLOW_S3_DIR=$dir
ENV
  log "ready after ${SECONDS}s"
  print_env "$dir"
}

stop() {
  local dir
  dir=$(resolve_dir "${1:-}")
  local pids=()
  for f in "$dir"/run/*.pid; do
    [ -f "$f" ] && pids+=("$(cat "$f")")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      local alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.1
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
  # Daemons of this folder that wrote no pid file (yet).
  pkill -9 -f -- "-c $dir/ceph.conf" 2>/dev/null || true
  case "$dir" in
    /|"") ;;
    *) rm -rf "$dir" ;;
  esac
  if [ -f "$LAST_FILE" ] && [ "$(cat "$LAST_FILE")" = "$dir" ]; then rm -f "$LAST_FILE"; fi
  log "stopped"
}

cmd=${1:-}
shift || true
case "$cmd" in
  start) start "$@" ;;
  env) print_env "$(resolve_dir "${1:-}")" ;;
  stop) stop "$@" ;;
  *) echo "usage: $0 start|env|stop [DIR]" >&2; exit 2 ;;
esac
