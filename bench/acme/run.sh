#!/usr/bin/env bash
# Five-domain ACME start-up time of our gateway (`tasksession serve`) and of Caddy 2.6, in
# the same run and alternating (ours, Caddy, ours, Caddy, …), on the harness of
# `cargo test -p gateway --test acme five_domains -- --nocapture`
# (crates/gateway/tests/acme.rs and tests/support/{pebble,mod}.rs):
#
#   - Pebble (Debian's `pebble`) on loopback with its own HTTPS certificate (a test CA and a
#     leaf for 127.0.0.1 and localhost), the same pebble.json keys (httpPort/tlsPort set to
#     the server's http and https ports, ocspResponderURL "", no EAB) and the same
#     environment: PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0;
#   - `pebble-challtestsrv` as Pebble's DNS (-dnsserver), answering 127.0.0.1 for every
#     name, so Pebble validates on the server's own http and https listeners;
#   - five domains, as DOMAINS in tests/acme.rs: alpha and gamma (.test) with no challenge
#     set (the default, HTTP-01), epsilon set to HTTP-01, beta and delta set to TLS-ALPN-01.
#     Ours: `tasksession domain add D --brand B [--acme-challenge C]` in a fresh work
#     directory (data in ./data), then ./tasksession.toml as configure_acme writes it
#     ([acme] directory_url = Pebble's, ca_bundle = the CA of Pebble's HTTPS certificate,
#     contact_email = ops@agency.test) and `serve` with no inherited TASKSESSION_…
#     variables but TASKSESSION_LISTEN_HTTP/HTTPS = the ports Pebble validates on,
#     TASKSESSION_LISTEN_OPERATOR = 127.0.0.1:0, TASKSESSION_OPERATOR_TOKEN and
#     TASKSESSION_LOG_FORMAT=json, as start_server does (RUST_LOG is passed on when set).
#     Caddy: its own http and https listeners on those ports and, per site,
#     `tls { issuer acme { disable_…_challenge } }` so each domain has one challenge type;
#   - a fresh Pebble, a fresh work/data directory (ours) and a fresh storage directory
#     (Caddy) for every measurement, so the ACME account is registered within it;
#   - time: from starting the server process until a verifying TLS client (Pebble's root
#     from its management endpoint /roots/0, SNI = the domain, TCP_NODELAY as curl sets it
#     and verified_get does; NODELAY=0 to leave it off) gets status 200 and the brand's
#     name in the body for each of the five domains, asked one domain after the other and
#     pausing after a failed try, as wait_for_ca_certificate does. Two such clients run side
#     by side in every measurement: one pausing 20 ms (as the test does now; the headline
#     figure) and one pausing 200 ms (as the test did before). The times at which the
#     server logged each certificate ("certificate issued", ours; "certificate obtained
#     successfully", Caddy) are printed too, relative to the same start;
#   - checks, per measurement, as the test's: Pebble issued 5 certificates, HTTP-01
#     validations of exactly the three HTTP-01 domains and validations of the other two by
#     another challenge (Pebble does not log TLS-ALPN-01 attempts), each leaf names its own
#     domain and no other, and each name's page fetched once more by
#     `curl --cacert <root> --resolve` after the timing. Ours must also register exactly one
#     ACME account and exit with status 0 on SIGTERM (Caddy registers one per site's
#     issuer: its count is printed, not checked).
#
# Usage: bench/acme/run.sh        RUNS=5 to change the number of runs of each (default 3);
#                                 TASKSESSION_BIN=path/to/tasksession to use that binary
#                                 (default target/release/tasksession, built first with
#                                 `cargo build --release -p gateway`: only when
#                                 TASKSESSION_BIN is unset);
#                                 KEEP=1 keeps the logs (per measurement: server.log,
#                                 pebble.log and each client's tries, server.log.poll{20,200}ms);
#                                 TIMELINE=1 prints each server's log lines with their time
#                                 after start (ours with RUST_LOG=gateway=debug,info: every
#                                 ACME step of each domain).
# Installs pebble, caddy, jq, curl, openssl and python3 from Debian when missing. Runs as
# any user (ports > 1024).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)

RUNS=${RUNS:-3}
if [ -n "${TASKSESSION_BIN:-}" ]; then
  bin=$(realpath "$TASKSESSION_BIN")
else
  echo "building target/release/tasksession…" >&2
  (cd "$repo" && cargo build --release --quiet -p gateway)
  bin=$repo/target/release/tasksession
fi
[ -x "$bin" ] || { echo "no executable $bin" >&2; exit 1; }

missing=""
command -v pebble >/dev/null || missing+=" pebble"
command -v pebble-challtestsrv >/dev/null || missing+=" pebble"
command -v caddy >/dev/null || missing+=" caddy"
command -v openssl >/dev/null || missing+=" openssl"
command -v curl >/dev/null || missing+=" curl"
command -v jq >/dev/null || missing+=" jq"
command -v python3 >/dev/null || missing+=" python3"
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

work=$(mktemp -d)
pids=()
stop_pids() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
cleanup() {
  stop_pids
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# domain, brand, challenge as DOMAINS in tests/acme.rs ("" = None there: no
# --acme-challenge, the default http-01).
DOMAINS=(
  "alpha.test|Alpha Studio|"
  "beta.test|Beta Works|tls-alpn-01"
  "gamma.test|Gamma Design|"
  "delta.test|Delta Agency|tls-alpn-01"
  "epsilon.test|Epsilon Labs|http-01"
)
OPERATOR_TOKEN=operator-secret-for-acme-tests

# Pebble's own HTTPS certificate: a test CA and a leaf for 127.0.0.1 and localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj "/CN=Pebble's HTTPS test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=keyCertSign,digitalSignature" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=localhost" -keyout "$work/key.pem" -out "$work/leaf.csr" 2>/dev/null
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 30 -out "$work/cert.pem" \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null

# n free loopback TCP ports (the first also free for UDP: Pebble's DNS).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
n = int(sys.argv[1]); held = []; ports = []
while len(ports) < n:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    if not ports:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            s.close(); continue
        held.append(u)
    held.append(s); ports.append(port)
print(" ".join(map(str, ports)))
EOF
}

wait_for_port() { # port pid what: fails at once if the process has ended
  local i
  for i in $(seq 400); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "$3 did not start on 127.0.0.1:$1" >&2
  return 1
}

# The poller: starts the server (argv after "--", in cwd, with env), runs the two
# verifying clients, stops the server, prints one JSON line.
cat > "$work/poll.py" <<'EOF'
import json, os, re, signal, socket, ssl, subprocess, sys, threading, time
from datetime import datetime

kind, https_port, root, log_path, cwd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
split = sys.argv.index("--")
domains = [tuple(d.split("|")) for d in sys.argv[6:split]]
command = sys.argv[split + 1:]
# TCP_NODELAY on the client, as curl, browsers and verified_get set it. Without it the
# request written after the client's Finished can wait for the server's delayed ACK
# (about 40 ms per successful request against Caddy: Go sends its session tickets before
# the client's Finished, so nothing carries the ACK). NODELAY=0 shows that.
NODELAY = os.environ.get("NODELAY", "1") == "1"
context = ssl.create_default_context(cafile=root)
context.set_alpn_protocols(["http/1.1"])
names = [d for d, _, _ in domains]

env = dict(os.environ)
if kind == "ours":
    # As Workdir::std_command and start_server: no inherited TASKSESSION_… variables.
    env = {k: v for k, v in env.items() if not k.startswith("TASKSESSION_")}
    env.update(json.loads(os.environ["OURS_ENV"]))
env.pop("OURS_ENV", None)

def verified_get(domain, brand, trace):
    """verified_get + the check in wait_for_ca_certificate: a chain that verifies against
    Pebble's root for this name, status 200 and the brand's name in the body. Returns the
    leaf (DER) when all that holds."""
    at = round((time.monotonic() - started) * 1000)
    try:
        with socket.create_connection(("127.0.0.1", https_port), timeout=10) as raw:
            if NODELAY:
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with context.wrap_socket(raw, server_hostname=domain) as tls:
                leaf = tls.getpeercert(binary_form=True)
                tls.sendall(f"GET / HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n\r\n".encode())
                answer = b""
                while True:
                    try:
                        chunk = tls.recv(65536)
                    except ssl.SSLError:
                        if answer:  # a close without close_notify, after the answer
                            break
                        raise
                    if not chunk:
                        break
                    answer += chunk
    except (OSError, ssl.SSLError) as error:
        trace.write(f"{at} {domain} {error}\n")
        return None
    head, _, body = answer.partition(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.1 200") and brand.encode() in body
    trace.write(f"{at} {domain} {'ok' if ok else head[:60]}\n")
    return leaf if ok else None

results = {}
def poller(pause_ms):
    seen, own = {}, {}
    trace = open(f"{log_path}.poll{pause_ms}ms", "w")
    for domain, brand, _ in domains:
        deadline = time.monotonic() + 60
        while (leaf := verified_get(domain, brand, trace)) is None:
            if time.monotonic() > deadline or server.poll() is not None:
                results[pause_ms] = None
                return
            time.sleep(pause_ms / 1000)
        seen[domain] = round((time.monotonic() - started) * 1000)
        # As the test: the leaf names its domain and no other of the five.
        own[domain] = domain.encode() in leaf and not any(
            other.encode() in leaf for other in names if other != domain)
    results[pause_ms] = {"all": max(seen.values()), "each": seen, "own": own}

log = open(log_path, "wb")
started_wall = time.time()
started = time.monotonic()
server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
curl_ok = {}
try:
    threads = [threading.Thread(target=poller, args=(ms,)) for ms in (20, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Once more, with curl, after the timing: each name's own verified chain and page.
    for domain, brand, _ in domains:
        page = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", root,
                               "--resolve", f"{domain}:{https_port}:127.0.0.1",
                               f"https://{domain}:{https_port}/"], capture_output=True, text=True)
        curl_ok[domain] = page.returncode == 0 and brand in page.stdout
finally:
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        code = f"killed: no exit within 30 s of SIGTERM"
        server.wait()
    log.close()

def wall(stamp):
    """An RFC 3339 timestamp (any number of fractional digits) as Unix seconds."""
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", stamp)
    if not m:
        return None
    zone = m.group(3) or "Z"
    zone = "+00:00" if zone == "Z" else zone
    seconds = datetime.fromisoformat(m.group(1) + zone).timestamp()
    return seconds + float("0." + (m.group(2) or "0"))

# When the server itself logged each step, relative to its start (ms).
events = {"issued": {}, "first_log": None, "serving": None, "challenge": {}, "lines": []}
with open(log_path, "rb") as f:
    for line in f:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        if kind == "caddy":
            at = round((entry.get("ts", started_wall) - started_wall) * 1000)
            msg = str(entry.get("msg", ""))
            domain = entry.get("identifier")
            if msg == "serving initial configuration" and events["serving"] is None:
                events["serving"] = at
            if msg == "trying to solve challenge":
                events["challenge"][domain] = entry.get("challenge_type")
            if msg == "certificate obtained successfully":
                events["issued"][domain] = at
            level, target = entry.get("level", ""), entry.get("logger", "")
            skip = ("level", "ts", "logger", "msg")
        else:
            # tracing's JSON: timestamp, level, message, the event's fields, target.
            stamp = wall(str(entry.get("timestamp", "")))
            at = round((stamp - started_wall) * 1000) if stamp is not None else None
            fields = entry.get("fields") if isinstance(entry.get("fields"), dict) else entry
            msg = str(fields.get("message", entry.get("message", "")))
            domain = fields.get("domain", entry.get("domain"))
            if msg.startswith("listening") and events["serving"] is None:
                events["serving"] = at
            if msg == "certificate issued" and domain:
                events["issued"][domain] = at
            if msg.startswith("answering the ") and msg.endswith(" challenge") and domain:
                events["challenge"][domain] = msg.split()[2]  # logged at debug level only
            level, target = entry.get("level", ""), entry.get("target", "")
            skip = ("timestamp", "level", "message", "target", "fields", "span", "spans")
        if events["first_log"] is None:
            events["first_log"] = at
        # For TIMELINE=1: every line but the clients' failed handshakes, which are counted.
        if msg in ("TLS handshake failed", "http: TLS handshake error"):
            events["failed_handshakes"] = events.get("failed_handshakes", 0) + 1
            continue
        rest = " ".join(f"{k}={v}" for k, v in fields.items() if k not in skip) \
            if kind == "ours" else " ".join(f"{k}={v}" for k, v in entry.items() if k not in skip)
        events["lines"].append(f"{at if at is not None else '?':>6} ms {level.upper():<5} "
                               f"{target}: {msg} {rest}"[:240].rstrip())
print(json.dumps({"polled": results, "server": events, "curl": curl_ok, "exit": code}))
EOF

# Pebble and its DNS for one measurement, in $1, on new free ports (again on others should
# one be taken meanwhile); sets http_port https_port acme_port mgmt_port.
start_pebble() {
  local dir=$1 attempt dns dns_mgmt
  for attempt in 1 2 3 4 5; do
    read -r dns http_port https_port acme_port mgmt_port dns_mgmt < <(free_ports 6)
    cat > "$dir/pebble.json" <<EOF
{"pebble": {
  "listenAddress": "127.0.0.1:$acme_port",
  "managementListenAddress": "127.0.0.1:$mgmt_port",
  "certificate": "$work/cert.pem",
  "privateKey": "$work/key.pem",
  "httpPort": $http_port,
  "tlsPort": $https_port,
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
}}
EOF
    pebble-challtestsrv -dns01 "127.0.0.1:$dns" -http01 "" -https01 "" -tlsalpn01 "" \
      -management "127.0.0.1:$dns_mgmt" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
      >"$dir/dns.log" 2>&1 &
    pids+=($!)
    if wait_for_port "$dns_mgmt" $! pebble-challtestsrv; then
      PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
        pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$dns" >"$dir/pebble.log" 2>&1 &
      pids+=($!)
      if wait_for_port "$acme_port" $! pebble \
        && wait_for_port "$mgmt_port" $! "pebble's management interface"; then
        curl -sf --cacert "$work/ca.pem" "https://127.0.0.1:$mgmt_port/roots/0" >"$dir/root.pem"
        return 0
      fi
    fi
    tail -n 3 "$dir/dns.log" "$dir/pebble.log" >&2 2>/dev/null || true
    stop_pids
  done
  echo "cannot start Pebble" >&2
  exit 1
}

# Our server's work directory, as the test sets it up: the five domains added, then
# tasksession.toml pointing at Pebble. Prints the poller's command after "--".
setup_ours() {
  local dir=$1 entry domain brand challenge
  mkdir -p "$dir/ours"
  local -a clean=()
  local name
  for name in $(compgen -e); do
    case $name in TASKSESSION_*) clean+=(-u "$name") ;; esac
  done
  for entry in "${DOMAINS[@]}"; do
    IFS='|' read -r domain brand challenge <<<"$entry"
    local -a extra=()
    [ -z "$challenge" ] || extra=(--acme-challenge "$challenge")
    (cd "$dir/ours" && env "${clean[@]}" "$bin" domain add "$domain" --brand "$brand" "${extra[@]}") \
      >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; exit 1; }
  done
  printf '[acme]\ndirectory_url = "%s"\nca_bundle = "%s"\ncontact_email = "ops@agency.test"\n' \
    "https://127.0.0.1:$acme_port/dir" "$work/ca.pem" >"$dir/ours/tasksession.toml"
}

# Caddy's configuration: its own http and https listeners on the ports Pebble validates on
# (the ACME solvers told the same ports, so they find them taken and leave the answers to
# those listeners, as ours are); a fresh storage directory; no OCSP stapling (Pebble is
# configured without an OCSP responder).
setup_caddy() {
  local dir=$1 entry domain brand challenge only
  {
    cat <<EOF
{
	http_port $http_port
	https_port $https_port
	default_bind 127.0.0.1
	admin off
	storage file_system $dir/storage
	ocsp_stapling off
	skip_install_trust
}
EOF
    for entry in "${DOMAINS[@]}"; do
      IFS='|' read -r domain brand challenge <<<"$entry"
      if [ "$challenge" = tls-alpn-01 ]; then only=disable_http_challenge; else only=disable_tlsalpn_challenge; fi
      cat <<EOF
$domain {
	tls {
		issuer acme {
			dir https://127.0.0.1:$acme_port/dir
			trusted_roots $work/ca.pem
			email ops@agency.test
			alt_http_port $http_port
			alt_tlsalpn_port $https_port
			$only
		}
	}
	respond "$brand" 200
}
EOF
    done
  } >"$dir/Caddyfile"
  caddy fmt --overwrite "$dir/Caddyfile" 2>/dev/null || true
}

# One measurement: kind (ours|caddy) and run number; prints its lines and appends
# "t20 t200 last_issued" for it to $row.
failed=0
measure() {
  local kind=$1 run=$2 dir="$work/run$2-$1" result
  mkdir -p "$dir"
  start_pebble "$dir"
  if [ "$kind" = ours ]; then
    setup_ours "$dir"
    local ours_env
    ours_env=$(jq -cn --arg http "127.0.0.1:$http_port" --arg https "127.0.0.1:$https_port" \
      --arg token "$OPERATOR_TOKEN" '{TASKSESSION_LISTEN_HTTP: $http,
        TASKSESSION_LISTEN_HTTPS: $https, TASKSESSION_LISTEN_OPERATOR: "127.0.0.1:0",
        TASKSESSION_OPERATOR_TOKEN: $token, TASKSESSION_LOG_FORMAT: "json"}')
    result=$(OURS_ENV=$ours_env python3 "$work/poll.py" ours "$https_port" "$dir/root.pem" \
      "$dir/server.log" "$dir/ours" "${DOMAINS[@]}" -- "$bin" serve)
  else
    setup_caddy "$dir"
    result=$(python3 "$work/poll.py" caddy "$https_port" "$dir/root.pem" "$dir/server.log" \
      "$dir" "${DOMAINS[@]}" -- caddy run --config "$dir/Caddyfile" --adapter caddyfile)
  fi
  stop_pids

  # The test's checks, from Pebble's log and the clients' answers.
  local issued accounts http_checks validated alpn_checks own curl_ok t20 t200 last each serving code challenges
  issued=$(grep -c "Issued certificate serial" "$dir/pebble.log" || true)
  accounts=$( (grep -o "There are now [0-9]* accounts in memory" "$dir/pebble.log" || echo 0) \
    | awk '{ if ($4 > n) n = $4 } END { print n + 0 }')
  http_checks=$( (grep -o "Attempting to validate w/ HTTP: http://[a-z]*\.test" "$dir/pebble.log" || true) \
    | sed 's|.*http://||' | sort -u | tr '\n' ' ')
  # Pebble logs no TLS-ALPN-01 attempt: those are the names it validated but not over HTTP.
  validated=$( (grep -o 'Pulled a task from the Tasks queue: .*Value:"[a-z]*\.test"' "$dir/pebble.log" || true) \
    | sed 's|.*Value:"||; s|"$||' | sort -u)
  alpn_checks=$(comm -23 <(printf '%s\n' $validated) <(printf '%s\n' $http_checks) | tr '\n' ' ')
  own=$(jq -r '[(.polled."20".own // {})[], (.polled."200".own // {})[] | select(.)] | length' <<<"$result")
  curl_ok=$(jq -r '[.curl[] | select(.)] | length' <<<"$result")
  t20=$(jq -r '.polled."20".all // "timeout"' <<<"$result")
  t200=$(jq -r '.polled."200".all // "timeout"' <<<"$result")
  last=$(jq -r '[.server.issued[]] | if length == 5 then max else "only-\(length)" end' <<<"$result")
  serving=$(jq -r '.server.serving' <<<"$result")
  each=$(jq -r '.server.issued | to_entries | sort_by(.value) | map("\(.key) \(.value)") | join(", ")' <<<"$result")
  code=$(jq -r '.exit' <<<"$result")
  challenges=$(jq -r '.server.challenge | to_entries | sort_by(.key) | map("\(.key) \(.value)") | join(", ")' <<<"$result")
  local name what
  if [ "$kind" = ours ]; then name="ours"; what="certificate issued"; else
    name="Caddy"; what="certificate obtained"; fi
  printf 'run %s %-5s ' "$run" "$name:"
  echo "polled every 20 ms: $t20 ms; every 200 ms: $t200 ms;" \
    "last '$what' logged at $last ms (listening/serving at $serving ms)"
  echo "           logged (ms after start): $each"
  echo "           Pebble: $issued issued, $accounts account(s); HTTP-01 validations of: ${http_checks:-none};" \
    "other (TLS-ALPN-01) validations of: ${alpn_checks:-none}"
  echo "           own leaf per name: $own of 10 (both clients); curl --cacert <root> --resolve: $curl_ok of 5;" \
    "exit on SIGTERM: $code"
  # Which challenge the server says it answered: Caddy's info log; ours at debug level only.
  [ -z "$challenges" ] || echo "           challenges answered (server's log): $challenges"
  if [ -n "${TIMELINE:-}" ]; then
    jq -r '.server.lines[] | "             \(.)"' <<<"$result"
    jq -r '"             (\(.server.failed_handshakes // 0) lines of failed TLS handshakes left out: the clients'"'"' tries before the certificate)"' <<<"$result"
  fi
  if [ "$issued" != 5 ] || { [ "$kind" = ours ] && [ "$accounts" != 1 ]; } || [ "$t20" = timeout ] || [ "$t200" = timeout ] \
    || [ "$own" != 10 ] || [ "$curl_ok" != 5 ] || [ "$http_checks" != "alpha.test epsilon.test gamma.test " ] \
    || [ "$alpn_checks" != "beta.test delta.test " ] \
    || { [ -n "$challenges" ] && [ "$challenges" != "alpha.test http-01, beta.test tls-alpn-01, delta.test tls-alpn-01, epsilon.test http-01, gamma.test http-01" ]; } \
    || { [ "$kind" = ours ] && [ "$code" != 0 ]; }; then
    echo "run $run $name failed; its log:" >&2
    tail -30 "$dir/server.log" >&2
    KEEP=1
    failed=1
  fi
  row+=" $t20 $t200 $last"
}

summary=()
for run in $(seq "$RUNS"); do
  row="$run"
  measure ours "$run"
  measure caddy "$run"
  summary+=("$row")
done

echo
echo "tasksession $("$bin" --version | awk '{print $NF}') ($bin, $(date -r "$bin" '+%F %T')), caddy $(caddy version | cut -d' ' -f1)," \
  "Pebble $(dpkg-query -W -f '${Version}' pebble 2>/dev/null || echo '?'), $(nproc) cores; start → five verified:"
echo "| run | ours, 20 ms polls | Caddy, 20 ms polls | ours, 200 ms polls | Caddy, 200 ms polls | ours: last 'certificate issued' logged | Caddy: last 'certificate obtained' logged |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}" | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
# row: run, ours t20 t200 last, caddy t20 t200 last
columns = [(1, 4), (2, 5), (3, 6)]
order = [1, 4, 2, 5, 3, 6]
def cell(value):
    return f"{value} ms" if value.isdigit() else value
for r in rows:
    print("| " + " | ".join([r[0]] + [cell(r[i]) for i in order]) + " |")
def median(i):
    values = [int(r[i]) for r in rows if r[i].isdigit()]
    return statistics.median(values) if values else None
medians = {i: median(i) for i in order}
print("| median | " + " | ".join(f"{medians[i]:.0f} ms" if medians[i] is not None else "-" for i in order) + " |")
ratios = []
for ours, caddy in columns:
    a, b = medians[ours], medians[caddy]
    ratios.append(f"{a / b:.2f}" if a is not None and b else "-")
print(f"| ratio ours/Caddy (medians) | {ratios[0]} | | {ratios[1]} | | {ratios[2]} | |")'
exit "$failed"
