#!/usr/bin/env bash
# Gateway benchmark: our gateway's sign-in page (five brands registered) against nginx and
# Caddy serving the same page's bytes as a static file over TLS, and against a bare hyper +
# rustls server (bench/ceiling) sending them too as the ceiling, with the same clients in
# the same run.
#
#   (a) keep-alive HTTPS requests per second      wrk, keep-alive
#   (b) new TLS connections per second             wrk, "Connection: close"
#   (c) p50/p99 latency at a fixed request rate    h2load --rps, per-request log
#   (d) keep-alive requests per second of signed-in API reads: GET /api/v1/me and a
#       50-row GET /api/v1/users, with a personal access token
#   (e) the cost of a new TLS connection with the post-quantum hybrid X25519MLKEM768
#       against X25519, on our gateway and on the ceiling: wrk's OpenSSL 3.0 cannot offer
#       it, so a rustls client (`ceiling handshakes`) makes the connections, and the
#       server's own CPU time (from /proc) is divided by the connections it served
#   and the resident memory of our process after the runs.
#
# Usage: bench/gateway/run.sh            (DURATION=10 CONNECTIONS=64 RATE=200 to change)
# Installs nginx-light, caddy, wrk and nghttp2-client from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
RATE=${RATE:-200}          # requests per second per h2load client, 10 clients
HOST=b1.test

missing=""
command -v nginx >/dev/null || missing+=" nginx-light"
command -v caddy >/dev/null || missing+=" caddy"
command -v wrk >/dev/null || missing+=" wrk"
command -v h2load >/dev/null || missing+=" nghttp2-client"
command -v openssl >/dev/null || missing+=" openssl"
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

echo "building release binaries…" >&2
cargo build --release --quiet -p gateway -p ceiling
BIN=$PWD/target/release

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www" "$work/ts"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" -addext "basicConstraints=critical,CA:FALSE" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Our gateway: five brands in development mode; the first with an admin, for the
# abandoned-requests check at the end.
( cd "$work/ts"
  "$BIN/tasksession" domain add b1.test --brand "Brand 1" --admin-email admin@b1.test \
    | sed -n 's|.*/invite/||p' > "$work/invitation"
  for i in 2 3 4 5; do "$BIN/tasksession" domain add "b$i.test" --brand "Brand $i" >/dev/null; done )
( cd "$work/ts" && TASKSESSION_LISTEN_HTTP=127.0.0.1:18080 TASKSESSION_LISTEN_HTTPS=127.0.0.1:18443 \
  TASKSESSION_LISTEN_OPERATOR=127.0.0.1:19090 RUST_LOG=warn exec "$BIN/tasksession" serve ) >"$work/ts.log" 2>&1 &
pids+=($!); ts_pid=$!

# The static servers serve the very bytes of our sign-in page, so every server sends the
# same page.
for _ in $(seq 1 100); do
  curl -sk -o "$work/www/index.html" -H "Host: $HOST" "https://127.0.0.1:18443/sign-in" && break
  sleep 0.1
done
page_bytes=$(wc -c < "$work/www/index.html")

cat > "$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:28443 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    # nginx's default since 1.23.4; Debian 12's 1.22 offers TLS 1.2 alone without it, and
    # wrk would then resume TLS 1.2 sessions with no key exchange at all, where every
    # other server here does TLS 1.3 (X25519 on every connection, resumed or not).
    ssl_protocols TLSv1.2 TLSv1.3;
    # The same suite as ours, Caddy's and the ceiling's: AES-128-GCM, in the server's order.
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    location / { root $work/www; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)

cat > "$work/Caddyfile" <<CADDY
{
  admin off
  auto_https off
}
https://:38443 {
  tls $work/cert.pem $work/key.pem
  root * $work/www
  file_server
}
CADDY
XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
pids+=($!)

"$BIN/ceiling" 127.0.0.1:48443 "$work/cert.pem" "$work/key.pem" "$work/www/index.html" >/dev/null &
pids+=($!); ceiling_pid=$!

wait_for() {
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null -H "Host: $HOST" "https://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2; return 1
}
for port in 18443 28443 38443 48443; do wait_for $port; done

rps() { # port [extra wrk args…] -> requests/s of the page (/sign-in, or the static /)
  local port=$1; shift
  local path=/
  [ "$port" = 18443 ] && path=/sign-in
  rps_of "$port" "$path" "$@"
}

rps_of() { # port path [extra wrk args…] -> requests/s
  local port=$1 path=$2; shift 2
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -H "Host: $HOST" "$@" "https://127.0.0.1:$port$path" \
    | awk '/Requests\/sec/ {print $2}'
}

latency() { # port -> "p50 p99" in ms at a fixed rate
  local port=$1 log="$work/h2load-$1.log"
  timeout $((DURATION + 30)) h2load --h1 -c10 --rps="$RATE" -D"$DURATION" \
    --connect-to="127.0.0.1:$port" --log-file="$log" "https://$HOST:$port$( [ "$port" = 18443 ] && echo /sign-in || echo / )" >/dev/null 2>&1 || true
  awk '{print $3}' "$log" | sort -n | awk '{v[NR]=$1} END {
    if (NR == 0) { print "- -"; exit }
    p50 = v[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]; p99 = v[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
    printf "%.2f %.2f\n", p50 / 1000, p99 / 1000 }'
}

# What each server negotiates with an OpenSSL client (wrk's library): protocol and suite.
for port in 18443 28443 38443 48443; do
  printf '%s ' "$port:"
  openssl s_client -connect "127.0.0.1:$port" -servername "$HOST" </dev/null 2>/dev/null \
    | awk '/^New,/ {print $2, $5}' | tr -d ','
done > "$work/negotiated"

declare -A keep close p50 p99
names=(tasksession nginx caddy ceiling)
ports=(18443 28443 38443 48443)
for i in "${!names[@]}"; do
  name=${names[$i]} port=${ports[$i]}
  echo "measuring $name…" >&2
  keep[$name]=$(rps "$port")
  close[$name]=$(rps "$port" -H "Connection: close")
  read -r p50[$name] p99[$name] < <(latency "$port")
done
rss_kib=$(ps -o rss= -p "$ts_pid" | tr -d ' ')

# (e) X25519MLKEM768 against X25519: connections/s of one rustls client (16 at a time)
# and the server's CPU per connection.
HANDSHAKES=${HANDSHAKES:-3000}
openssl s_client -connect 127.0.0.1:18443 -servername "$HOST" </dev/null 2>/dev/null \
  | openssl x509 > "$work/gateway-cert.pem"
declare -A kx_rate kx_cpu
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
handshake_cost() { # name pid port cert group
  local before after out
  before=$(cpu_ticks "$2")
  out=$("$BIN/ceiling" handshakes "127.0.0.1:$3" "$HOST" "$4" "$5" "$HANDSHAKES" 16)
  after=$(cpu_ticks "$2")
  case "$out" in *"$5"*|*"${5^^}"*) ;; *) echo "$1 did not negotiate $5: $out" >&2; exit 1 ;; esac
  kx_rate[$1/$5]=$(echo "$out" | sed -n 's|.*s: \([0-9]*\)/s.*|\1|p')
  kx_cpu[$1/$5]=$(awk -v t=$((after - before)) -v n="$HANDSHAKES" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
}
echo "measuring X25519MLKEM768 and X25519 handshakes…" >&2
for group in x25519 x25519mlkem768; do
  handshake_cost tasksession "$ts_pid" 18443 "$work/gateway-cert.pem" "$group"
  handshake_cost ceiling "$ceiling_pid" 48443 "$work/cert.pem" "$group"
done

# After the load (each wrk run ends by dropping its connections mid-request), clients
# that give up on API requests after 2-8 ms, then ordinary requests: every one must
# succeed.
echo "abandoning requests…" >&2
api() { curl -sk --resolve "$HOST:18443:127.0.0.1" -H "Origin: https://$HOST:18443" \
  -H 'Content-Type: application/json' "$@"; }
password='correct horse battery staple'
api -o /dev/null -X POST "https://$HOST:18443/api/v1/invitations/$(cat "$work/invitation")/accept" \
  -d "{\"password\":\"$password\"}"
cookie=$(api -i -X POST "https://$HOST:18443/api/v1/session" \
  -d "{\"email\":\"admin@$HOST\",\"password\":\"$password\"}" | sed -n 's/^set-cookie: \(__Host-ts_session=[^;]*\).*/\1/ip')
token=$(api -H "Cookie: $cookie" -X POST "https://$HOST:18443/api/v1/tokens" -d '{"name":"bench"}' \
  | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
# Signed-in API reads: who am I, and a page of 50 users (49 more are invited first).
for i in $(seq 1 49); do
  api -o /dev/null -H "Authorization: Bearer $token" -X POST "https://$HOST:18443/api/v1/users" \
    -d "{\"email\":\"person$i@$HOST\",\"name\":\"Person $i\",\"role\":\"staff\"}"
done
echo "measuring signed-in API reads…" >&2
me_rps=$(rps_of 18443 /api/v1/me -H "Authorization: Bearer $token")
users_rows=$(api -H "Authorization: Bearer $token" "https://$HOST:18443/api/v1/users?limit=50" | grep -o '"email"' | wc -l)
users_rps=$(rps_of 18443 '/api/v1/users?limit=50' -H "Authorization: Bearer $token")
clients=()
for client in $(seq 1 16); do
  ( for _ in $(seq 1 60); do
      api -o /dev/null -m "0.00$((RANDOM % 7 + 2))" -H "Authorization: Bearer $token" \
        "https://$HOST:18443/api/v1/users" || true
    done ) &
  clients+=($!)
done
wait "${clients[@]}"
ok=0 total=50
for _ in $(seq 1 $total); do
  code=$(api -o /dev/null -w '%{http_code}' -m 10 -H "Authorization: Bearer $token" "https://$HOST:18443/api/v1/users")
  [ "$code" = 200 ] && ok=$((ok + 1))
done
page=$(curl -sk -o /dev/null -w '%{http_code}' -m 10 -H "Host: $HOST" "https://127.0.0.1:18443/sign-in")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '\n%-12s %14s %14s %12s %12s\n' "server" "keep-alive r/s" "new conn r/s" "p50 ms" "p99 ms"
for name in "${names[@]}"; do
  printf '%-12s %14s %14s %12s %12s\n' "$name" "${keep[$name]}" "${close[$name]}" "${p50[$name]}" "${p99[$name]}"
done
echo
echo "tasksession / nginx:   keep-alive $(ratio "${keep[tasksession]}" "${keep[nginx]}")x, new connections $(ratio "${close[tasksession]}" "${close[nginx]}")x"
echo "tasksession / ceiling: keep-alive $(ratio "${keep[tasksession]}" "${keep[ceiling]}")x, new connections $(ratio "${close[tasksession]}" "${close[ceiling]}")x"
echo "GET /api/v1/me (token): $me_rps r/s, $(ratio "$me_rps" "${keep[nginx]}")x nginx's static file"
echo "GET /api/v1/users?limit=50 ($users_rows rows, token): $users_rps r/s, $(ratio "$users_rps" "${keep[nginx]}")x nginx's static file"
for name in tasksession ceiling; do
  echo "$name new TLS connections (rustls client, 16 at a time): X25519 ${kx_rate[$name/x25519]}/s at ${kx_cpu[$name/x25519]} µs of server CPU each, X25519MLKEM768 ${kx_rate[$name/x25519mlkem768]}/s at ${kx_cpu[$name/x25519mlkem768]} µs"
done
echo "tasksession resident memory after the runs: $((rss_kib / 1024)) MiB"
echo "after the runs and 960 abandoned API requests: $ok/$total API requests answered 200, sign-in page $page"
echo "negotiated with an OpenSSL client (tasksession, nginx, caddy, ceiling): $(tr '\n' ' ' < "$work/negotiated")"
echo "(every server sends the same $page_bytes-byte page: our sign-in page, saved as a static file for the others)"
echo "(wrk -t2 -c$CONNECTIONS -d${DURATION}s; h2load --h1 -c10 --rps=$RATE -D$DURATION; clients and servers share this machine's $(nproc) cores)"
[ "$ok" = "$total" ] && [ "$page" = 200 ] || { echo "the server did not answer normally after the load" >&2; exit 1; }
