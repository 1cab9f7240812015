# Shell helpers shared by the benches that point wrk at one of our servers and at nginx in the
# same run (bench/http, bench/gateway). Source it from bash after `set -euo pipefail` and after
# setting `bench_name` (the prefix of error messages, e.g. "bench/http").
# shellcheck shell=bash
# shellcheck disable=SC2154 # bench_name is set by the sourcing script
# shellcheck disable=SC2034 # cores, pin_servers and pin_wrk are for the sourcing script

# A TCP port nobody listens on now. nginx cannot be told "port 0", so we pick one ourselves;
# the window between choosing and binding is tiny on a benchmark machine.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if ! ss -Htln "sport = :$port" | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  echo "$bench_name: no free port found" >&2
  return 1
}

# wait_for <name> <url> [seconds] [status]: waits (default 5 s) for `url` to answer `status`
# (default 200); a server that does not come up fails the run instead of producing a table of
# zeros.
wait_for() {
  local name=$1 url=$2 seconds=${3:-5} status=${4:-200}
  for _ in $(seq $((seconds * 100))); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" || true) == "$status" ]]; then
      return 0
    fi
    sleep 0.01
  done
  echo "$bench_name: $name did not answer $status on $url within $seconds s" >&2
  return 1
}

# Pinning: with `shards` below the core count, the servers go to the first `shards` cores and
# wrk to the rest, so the scheduler cannot put the load generator on a server's core halfway
# through a run. These are command prefixes, not a wrapper function: taskset execs the server,
# so $! is the server's own pid and an EXIT trap really stops it (a function run with & would be
# a subshell whose death leaves the server running). Sets `cores`, `pin_servers`, `pin_wrk`.
set_pinning() { # set_pinning <shards>
  cores=$(nproc)
  pin_servers=()
  pin_wrk=()
  if command -v taskset >/dev/null && (($1 < cores)); then
    pin_servers=(taskset -c "0-$(($1 - 1))")
    pin_wrk=(taskset -c "$1-$((cores - 1))")
  fi
}

# Servers measured one after the other are skewed by CPU taken by anything else during one
# measurement and not the other. The load average would still count our own previous run, so
# sample /proc/stat instead: the share of all cores that was busy during one second.
cpu_busy_percent() {
  local before after
  before=$(awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
  sleep 1
  after=$(awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
  awk -v b="$before" -v a="$after" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    busy = y[1] - x[1]; idle = y[2] - x[2]
    printf "%d", (busy + idle > 0) ? 100 * busy / (busy + idle) : 0
  }'
}
warn_if_busy() {
  local busy
  busy=$(cpu_busy_percent)
  if ((busy >= 10)); then
    echo "warning: the CPU was ${busy}% busy just before the run; other processes skew the ratio"
  fi
}

# nginx_conf <work-dir> <port> <worker-processes> <server-block-body>: writes
# <work-dir>/nginx.conf. Everything nginx writes (pid, error log, temp dirs) stays in the work
# dir. As root, nginx would drop its workers to "nobody", who cannot enter a 0700 work dir: run
# them as root instead. Start it with
#   nginx -p <work-dir> -e <work-dir>/nginx-error.log -c <work-dir>/nginx.conf
# (-e keeps it from opening /var/log/nginx/error.log before it reads the config).
nginx_conf() {
  local dir=$1 port=$2 workers=$3 body=$4 user=""
  if ((EUID == 0)); then user="user root;"; fi
  cat >"$dir/nginx.conf" <<EOF
$user
daemon off;
worker_processes $workers;
error_log $dir/nginx-error.log warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
$body
  }
}
EOF
}

# wrk prints "Requests/sec: 12345.67", a latency distribution line "     99%    1.23ms" (units us,
# ms or s), and, only when there are some, "Non-2xx or 3xx responses: N" and
# "Socket errors: connect A, read B, write C, timeout D".
requests_per_second() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# latency_ms <file> <percentile>: e.g. latency_ms out.wrk 99%
latency_ms() {
  awk -v p="$2" '$1 == p {
         v = $2
         if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
         else if (v ~ /ms$/) { sub(/ms$/, "", v) }
         else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
         printf "%.3f", v
       }' "$1"
}
p99_ms() { latency_ms "$1" 99%; }
non_2xx() { awk '/Non-2xx or 3xx responses:/ {print $NF; found=1} END {if (!found) print 0}' "$1"; }
socket_errors() {
  awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10; found=1} END {if (!found) print 0}' "$1"
}
total_requests() { awk '/requests in/ {print $1}' "$1"; }

# median <printf-format> <value>...: the middle value, or the mean of the two middle ones.
median() {
  local format=$1
  shift
  printf '%s\n' "$@" | awk -v format="$format" '
    { v[NR] = $1 + 0 }
    END {
      for (i = 2; i <= NR; i++) {   # insertion sort: a handful of values, and mawk has no asort
        x = v[i]
        for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
        v[j + 1] = x
      }
      printf format, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    }'
}
