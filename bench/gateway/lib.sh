# Shell functions shared by bench/gateway/run and bench/gateway/instructions: start `substrate up`
# with the gateway's bench settings, sign the users' tokens, write the wrk script of the events.
# Source after bench/lib/wrk.sh (free_port, wait_for) with `bench_name` set.
# shellcheck shell=bash
# shellcheck disable=SC2154 # bench_name is set by the sourcing script
# shellcheck disable=SC2034 # substrate_pid and set_args are for the sourcing script

# start_gateway [prefix...] -- <binary> <work-dir> <admin-port> <gateway-port> <shards> [key=value...]
# Starts `substrate up` on <work-dir>/data with the broker, registry and gateway (the API, web
# app, outbox relay and stream processors off, so nothing else consumes the topic or the CPU;
# PostgreSQL starts, as `up` always runs it, and idles; access log off, as nginx's), the route
# `message` -> public.user.message.events, and waits until the gateway is ready. The prefix runs
# the binary (taskset, valgrind). Sets `substrate_pid` (the prefix execs, so it is the server's
# pid) and `set_args` (the --set arguments, for `substrate config`). Exits on failure.
start_gateway() {
  local prefix=()
  while [[ $1 != -- ]]; do
    prefix+=("$1")
    shift
  done
  shift
  local binary=$1 work_dir=$2 admin_port=$3 gateway_port=$4 shards=$5
  shift 5
  cat >"$work_dir/routes.yaml" <<'EOF'
externalRoutes:
  message: public.user.message.events
EOF
  local settings=(
    admin.port="$admin_port" database.port="$(free_port)" kafka.port="$(free_port)"
    registry.port="$(free_port)" gateway.port="$gateway_port" gateway.routes_file="$work_dir/routes.yaml"
    gateway.webhook_secret=bench-unused-webhook-secret
    api.enabled=false web.enabled=false outbox.enabled=false processors.enabled=false
    http.shards="$shards" http.access_log=false log.level=warn "$@"
  )
  set_args=()
  local setting
  for setting in "${settings[@]}"; do set_args+=(--set "$setting"); done
  "${prefix[@]}" "$binary" up --data-dir "$work_dir/data" "${set_args[@]}" \
    >"$work_dir/substrate.out" 2>"$work_dir/substrate.err" &
  substrate_pid=$!
  for _ in $(seq 600); do
    if curl -fs "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$substrate_pid" 2>/dev/null; then
      echo "$bench_name: substrate exited during start-up:" >&2
      cat "$work_dir/substrate.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  if ! wait_for "the gateway" "http://127.0.0.1:$gateway_port/readyz" 30; then
    cat "$work_dir/substrate.err" >&2
    exit 1
  fi
}

# gateway_tokens <secret-file> <count> <out>: <count> HS256 tokens signed with the project's secret
# (as tests/contract/gateway.test.mjs), valid for a day, one per line: the requests rotate through
# them, so the per-user token bucket of one user is not what is measured.
gateway_tokens() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
const crypto = require("crypto");
const fs = require("fs");
const [secretFile, count, out] = process.argv.slice(1);
const secret = fs.readFileSync(secretFile, "utf8").trim();
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const header = b64({ alg: "HS256", typ: "JWT" });
const lines = [];
for (let i = 0; i < Number(count); i++) {
  const sub = crypto.randomUUID();
  const input = `${header}.${b64({ sub, email: `user${i}@example.com`, role: "authenticated",
    aud: "authenticated", iat: now, exp: now + 86400 })}`;
  lines.push(`${input}.${crypto.createHmac("sha256", secret).update(input).digest("base64url")}`);
}
fs.writeFileSync(out, lines.join("\n") + "\n");
' "$1" "$2" "$3"
}

# gateway_events_lua <tokens-file> <out>: the wrk script. The message of the web app's chat: about
# 100 bytes of JSON. Every connection starts at its own token, then each request takes the next.
gateway_events_lua() {
  cat >"$2" <<EOF
local body = '{"message":"hello from the gateway bench, a short chat message","timestamp":"2026-11-26T21:00:00Z","visibility":"broadcast"}'
local requests = {}
local next_index = 1
function init(args)
  math.randomseed(os.time())
  for token in io.lines("$1") do
    requests[#requests + 1] = wrk.format("POST", nil,
      { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
  end
  next_index = math.random(#requests)
end
function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
EOF
}
