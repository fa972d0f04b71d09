#!/usr/bin/env bash
# `make stack`: the distributed shape on one box, without Docker: Debian's redis-server, `lookingglass serve` (the
# owner of LG_DATA_DIR; docs/architecture.md) and $WORKERS RQ workers (`lookingglass worker`), all on one data dir.
# Waits until /health answers, prints the URL, and runs until Ctrl-C or SIGTERM, which stop every process it started
# (workers and web first, Redis last). If one of them dies, the others are stopped too and the script exits 1.
#
# Environment (default):
#   LG_DATA_DIR (data)        everything: stores, redis/ (Redis's append-only file), logs/*.log
#   LG_HOST, LG_PORT          web address (127.0.0.1, 5000)
#   REDIS_PORT (6379)         the Redis started here, on 127.0.0.1
#   REDIS_URL                 set it to use a Redis that is already running instead (none is started then)
#   WORKERS (2)               number of `lookingglass worker` processes
#   WORKER_QUEUES             passed as --queues (default: the worker's own)
#   REDIS_SERVER              the redis-server binary (redis-server on PATH)
#   LG_STACK_TIMEOUT (300)    seconds to wait for /health;  LG_STACK_GRACE (30): seconds a process gets to stop
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"

die() {
    echo "stack: $*" >&2
    exit 1
}

data_dir="${LG_DATA_DIR:-data}"
host="${LG_HOST:-127.0.0.1}"
port="${LG_PORT:-5000}"
redis_port="${REDIS_PORT:-6379}"
workers="${WORKERS:-2}"
timeout="${LG_STACK_TIMEOUT:-300}"
grace="${LG_STACK_GRACE:-30}"
redis_server="${REDIS_SERVER:-redis-server}"
[[ "$workers" =~ ^[0-9]+$ ]] || die "WORKERS must be a number, not '$workers'"

if [[ -x "$repo/.venv/bin/lookingglass" ]]; then
    lg="$repo/.venv/bin/lookingglass"
    py="$repo/.venv/bin/python"
elif command -v lookingglass >/dev/null 2>&1; then
    lg="$(command -v lookingglass)"
    py="$(dirname "$lg")/python"
    [[ -x "$py" ]] || py=python3
else
    die "lookingglass not found: run 'make install' first (it creates .venv/bin/lookingglass)"
fi
if [[ -z "${REDIS_URL:-}" ]] && ! command -v "$redis_server" >/dev/null 2>&1; then
    die "redis-server not found: install it with 'apt-get install redis-server' (Debian/Ubuntu), or set REDIS_URL to a running Redis"
fi

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
probe_host="$host"
[[ "$host" == "0.0.0.0" || "$host" == "::" ]] && probe_host=127.0.0.1
in_use "$port" && die "port $port is already in use: set LG_PORT"

mkdir -p "$data_dir" || die "cannot create $data_dir"
data_dir="$(cd "$data_dir" && pwd)"
logs="$data_dir/logs"
mkdir -p "$logs"
export LG_DATA_DIR="$data_dir" LG_HOST="$host" LG_PORT="$port"

pids=()
names=()
stopping=0

start() { # start NAME LOGFILE COMMAND...: run in the background, output appended to the log
    # In a session of its own: a terminal's Ctrl-C reaches only this script, which then stops each process once, in
    # order (RQ treats a second signal as "abandon the job now", and Redis must outlive the workers).
    local name="$1" log="$2"
    shift 2
    echo "=== $(date -u +%FT%TZ) $*" >>"$log"
    setsid "$@" >>"$log" 2>&1 &
    pids+=("$!")
    names+=("$name")
}

tail_log() {
    echo "--- last lines of $logs/$1.log:" >&2
    tail -n 20 "$logs/$1.log" >&2 2>/dev/null || true
}

stop_pids() { # stop_pids PID...: SIGTERM, up to $grace seconds, then SIGKILL; reaps them
    local pid deadline=$((SECONDS + grace))
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stack: pid $pid did not stop in ${grace}s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

cleanup() {
    ((stopping)) && return
    stopping=1
    trap '' INT TERM
    local i app=() redis=()
    for i in "${!pids[@]}"; do
        if [[ "${names[i]}" == redis ]]; then redis+=("${pids[i]}"); else app+=("${pids[i]}"); fi
    done
    ((${#pids[@]})) && echo "stack: stopping ${names[*]}"
    ((${#app[@]})) && stop_pids "${app[@]}"
    ((${#redis[@]})) && stop_pids "${redis[@]}"
    return 0
}

on_signal() {
    cleanup
    exit 0
}

dead_child() { # prints the name of a child that has exited, if any
    local i
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[i]}" 2>/dev/null; then
            echo "${names[i]}"
            return 0
        fi
    done
    return 1
}

trap cleanup EXIT
trap on_signal INT TERM

# 1. Redis (unless REDIS_URL names one)
if [[ -n "${REDIS_URL:-}" ]]; then
    echo "stack: using REDIS_URL=$REDIS_URL"
else
    in_use "$redis_port" && die "port $redis_port is already in use: set REDIS_PORT, or REDIS_URL to use that Redis"
    mkdir -p "$data_dir/redis"
    start redis "$logs/redis.log" "$redis_server" --port "$redis_port" --bind 127.0.0.1 --dir "$data_dir/redis" \
        --appendonly yes --daemonize no --save ""
    export REDIS_URL="redis://127.0.0.1:$redis_port/0"
    deadline=$((SECONDS + 30))
    until [[ "$( (exec 3<>"/dev/tcp/127.0.0.1/$redis_port" && printf 'PING\r\n' >&3 && head -c 5 <&3) 2>/dev/null)" == "+PONG" ]]; do
        if name="$(dead_child)"; then tail_log redis; die "$name exited during start-up"; fi
        ((SECONDS < deadline)) || die "Redis did not answer on port $redis_port within 30 s"
        sleep 0.2
    done
fi

# 2. The web server (the data dir's owner; it also consumes the `index` queue) and the workers
start web "$logs/web.log" "$lg" serve --host "$host" --port "$port"
queue_args=()
[[ -n "${WORKER_QUEUES:-}" ]] && queue_args=(--queues "$WORKER_QUEUES")
for ((i = 1; i <= workers; i++)); do
    start "worker-$i" "$logs/worker-$i.log" "$lg" worker "${queue_args[@]}"
done

# 3. Wait for /health
url="http://$probe_host:$port"
deadline=$((SECONDS + timeout))
until "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$url/health" 2>/dev/null; do
    if name="$(dead_child)"; then tail_log "$name"; die "$name exited during start-up"; fi
    ((SECONDS < deadline)) || die "$url/health did not answer 200 within $timeout s (logs: $logs)"
    sleep 1
done

echo "LookingGlass is up: $url"
for i in "${!pids[@]}"; do
    printf '  %-9s pid %-7s log %s\n' "${names[i]}" "${pids[i]}" "$logs/${names[i]}.log"
done
echo "  redis     $REDIS_URL"
echo "Ctrl-C stops everything."

# 4. Run until a signal, or until one of the processes dies
while true; do
    wait -n 2>/dev/null
    if name="$(dead_child)"; then
        tail_log "$name"
        echo "stack: $name exited; stopping the others" >&2
        exit 1
    fi
done
