#!/usr/bin/env bash
# Kanboard benchmark: Kanboard 1.2 (PHP-FPM behind nginx) against our gateway, with the same
# data on each side and the same wrk client in the same run, signed in as an admin:
#
#   (1) a 500-task board as a web page (HTML): Kanboard's board view of a project whose 500
#       tasks are in its first column; ours GET /projects/{id}, 500 tasks in "To do"
#   (2) the same board through the API: Kanboard's JSON-RPC getBoard (application token);
#       ours GET /api/v1/projects/{id}/tasks?limit=200 with a personal access token, three
#       pages for the whole board (cursors taken before the run), so whole boards/s is
#       requests/s / 3
#   (3) a brand of 2,000 projects: Kanboard's project list page (20 a page) against ours
#       GET /projects (100 a page); and the whole list through the API, Kanboard's JSON-RPC
#       getAllProjects (all 2,000 in one answer) against ours GET /api/v1/projects?limit=200
#       (ten pages, cursors taken before the run)
#
# with requests/s, p50/p99 latency (from wrk's own histogram) and bytes per response (head
# and body, as wrk counted them). Every answer is checked before it is measured (HTTP 200,
# the expected number of tasks or projects), and after each run wrk's counts are checked
# too (no error statuses, no socket errors or timeouts, the same bytes per response as the
# checked answer, so a run that got redirected to a sign-in page fails): a benchmark of an
# error page is worthless.
#
# Both sides are served over plain HTTP on loopback (our gateway serves *.localhost brands
# on its HTTP listener in development mode; Kanboard through nginx), which is simpler and
# leaves TLS out of both (bench/gateway/run.sh measures ours against nginx's), so this run
# measures the applications. Each store runs as its own pair: Kanboard on SQLite against ours on
# SQLite, then Kanboard on PostgreSQL against ours on PostgreSQL (when PostgreSQL is
# reachable). The two servers of a pair are measured in turns, measure by measure (the
# other one idle), so that whatever else the machine does weighs on both alike.
#
# Kanboard's settings: php-fpm (Debian's PHP 8.2 and its production php.ini), pm = static
# with PHP_CHILDREN workers (default 4: two per core, so that one waiting on the database
# does not leave a core idle), opcache on with validate_timestamps=0, 128 MB, 20,000 files,
# JIT off (PHP 8.2's default); nginx with 2 workers, keep-alive, no access log, FastCGI over
# a Unix socket with buffers large enough for the 3 MB board page; Kanboard's own defaults
# otherwise (sessions in its database, SQLite in WAL mode). Kanboard is copied into the
# temporary directory with a config.php written here; the checkout is not changed.
#
# Usage: KANBOARD_DIR=/path/to/kanboard bench/kanboard/run.sh
#   KANBOARD_DIR   a Kanboard 1.2 checkout or release (with its vendor/ folder); required
#   TASKSESSION_BIN our binary (default: target/release/tasksession, built here with cargo)
#   STORES         "sqlite postgres" (default when PostgreSQL answers), "sqlite" or "postgres"
#                  (STORE is read too)
#   PG_HOST, PG_PORT, PG_USER   PostgreSQL (default 127.0.0.1, 5432, postgres; trust auth)
#   DURATION=10 CONNECTIONS=32 WARMUP=2 PHP_CHILDREN=4; KEEP=1 keeps the temporary folder (logs)
# Installs php8.2-fpm and the PHP modules Kanboard needs, nginx-light and wrk from Debian
# when missing. Takes about 4½ minutes with both stores (2 a store), plus the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$PWD/bench/kanboard

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-2}
PHP_CHILDREN=${PHP_CHILDREN:-4}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
TASKS=500
PROJECTS=2000
KB_PORT=28080
TS_PORT=18080
TS_HOST=b1.localhost
WRK_TIMEOUT=30s

die() { echo "bench/kanboard: $*" >&2; exit 1; }
say() { echo "$*" >&2; }

if [ -z "${KANBOARD_DIR:-}" ]; then
  cat >&2 <<USAGE
usage: KANBOARD_DIR=/path/to/kanboard bench/kanboard/run.sh

KANBOARD_DIR must name a Kanboard 1.2 checkout or release (the folder with index.php,
jsonrpc.php and vendor/), for example:
  git clone --depth 1 --branch v1.2.53 https://github.com/kanboard/kanboard ~/kanboard
USAGE
  exit 2
fi
KANBOARD_DIR=$(cd "$KANBOARD_DIR" && pwd) || die "KANBOARD_DIR=$KANBOARD_DIR is not a folder"
for f in index.php jsonrpc.php app/common.php vendor/autoload.php; do
  [ -f "$KANBOARD_DIR/$f" ] || die "$KANBOARD_DIR has no $f: not a Kanboard 1.2 checkout with its vendor/ folder"
done

# Which stores: both when PostgreSQL answers, unless told.
pg_admin=(psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres)
STORES=${STORES:-${STORE:-}}
if [ -z "$STORES" ]; then
  if command -v psql >/dev/null && "${pg_admin[@]}" -Atc 'select 1' >/dev/null 2>&1; then
    STORES="sqlite postgres"
  else
    STORES=sqlite
    say "PostgreSQL does not answer at $PG_USER@$PG_HOST:$PG_PORT: SQLite only"
  fi
fi
for store in $STORES; do
  case $store in
    sqlite) ;;
    postgres) command -v psql >/dev/null || die "STORES has postgres but psql is not installed" ;;
    *) die "unknown store '$store' in STORES: use sqlite and/or postgres" ;;
  esac
done

missing=""
for pkg in php8.2-fpm php8.2-cli php8.2-opcache php8.2-sqlite3 php8.2-mbstring php8.2-gd php8.2-xml; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=" $pkg"
done
case " $STORES " in *" postgres "*) dpkg -s php8.2-pgsql >/dev/null 2>&1 || missing+=" php8.2-pgsql" ;; esac
command -v nginx >/dev/null || missing+=" nginx-light"
command -v wrk >/dev/null || missing+=" wrk"
command -v curl >/dev/null || missing+=" curl"
if [ -n "$missing" ]; then
  say "installing$missing…"
  [ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root, or install them)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
PHP_FPM=php-fpm8.2
PHP=php8.2
command -v "$PHP" >/dev/null || PHP=php

built_here=""
if [ -z "${TASKSESSION_BIN:-}" ]; then
  say "building the release binary…"
  cargo build --release --quiet -p gateway
  TASKSESSION_BIN=target/release/tasksession built_here=1
fi
[ -x "$TASKSESSION_BIN" ] || die "TASKSESSION_BIN=$TASKSESSION_BIN is not an executable"
TS_BIN=$(cd "$(dirname "$TASKSESSION_BIN")" && pwd)/$(basename "$TASKSESSION_BIN")

work=$(mktemp -d)
pids=()
databases=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "${databases[@]}"; do
    "${pg_admin[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [ -n "${KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

stop() { # pid… : end servers this script started, and wait for them
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

wait_http() { # url [curl args…] : until it answers at all
  local url=$1; shift
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$@" "$url" && return 0
    sleep 0.1
  done
  return 1
}

count() { # pattern [file] -> how many times the pattern occurs (in the file, or stdin)
  { grep -o -- "$1" ${2:+"$2"} || true; } | wc -l | tr -d ' '
}

count_unique() { # pattern file -> how many different matches
  { grep -o -- "$1" "$2" || true; } | sort -u | wc -l | tr -d ' '
}

fetch() { # file url [curl args…] -> "code bytes" (bytes: head + body, as wrk counts them)
  local file=$1 url=$2; shift 2
  curl -s -o "$file" -w '%{http_code} %{size_header} %{size_download}' "$@" "$url" \
    | awk '{print $1, $2 + $3}'
}

expect_eq() { # what got wanted
  [ "$2" = "$3" ] || die "$1: got $2, wanted $3 — not measuring a wrong answer"
}

# ---------------------------------------------------------------------------------------------
# Measuring: wrk with requests.lua, after a warm-up run. Each result goes in these arrays,
# keyed "store/measure/side".
declare -A rps p50 p99 bytes
declare -A expected_bytes logged
# The server's error log during each run (not the warm-up): entries matching the pattern.
watch_log="" watch_pattern=""
log_entries() {
  if [ -n "$watch_log" ] && [ -f "$watch_log" ]; then grep -c -- "$watch_pattern" "$watch_log" || true; else echo 0; fi
}

measure() { # key target expected-bytes-per-response "paths" [wrk args…]  (WRK_METHOD, WRK_BODY)
  local key=$1 target=$2 expect=$3 paths=$4; shift 4
  say "  measuring $key…"
  # Warm-up on one connection, so that at most one request is still being served when the
  # measured run starts (a queue left by 32 connections would take seconds of the run).
  WRK_PATHS="$paths" wrk -t1 -c1 -d"${WARMUP}s" --timeout "$WRK_TIMEOUT" \
    -s "$here/requests.lua" "$@" "$target" >/dev/null
  sleep 1
  local out line before
  before=$(log_entries)
  out=$(WRK_PATHS="$paths" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout "$WRK_TIMEOUT" \
    -s "$here/requests.lua" "$@" "$target")
  line=$(grep '^FIGURES ' <<<"$out") || die "$key: wrk printed no figures: $out"
  logged[$key]=$(( $(log_entries) - before ))
  local requests seconds total status_errors socket_errors timeouts kv
  for kv in ${line#FIGURES }; do
    case ${kv%%=*} in
      requests) requests=${kv#*=} ;;
      seconds) seconds=${kv#*=} ;;
      bytes) total=${kv#*=} ;;
      p50_ms) p50[$key]=${kv#*=} ;;
      p99_ms) p99[$key]=${kv#*=} ;;
      status_errors) status_errors=${kv#*=} ;;
      socket_errors) socket_errors=${kv#*=} ;;
      timeouts) timeouts=${kv#*=} ;;
    esac
  done
  [ "$requests" -gt 0 ] || die "$key: no request finished in ${DURATION}s"
  [ "$status_errors" = 0 ] || die "$key: $status_errors of $requests answers were not 2xx/3xx"
  [ "$socket_errors" = 0 ] && [ "$timeouts" = 0 ] \
    || die "$key: $socket_errors socket errors and $timeouts timeouts in $requests requests"
  bytes[$key]=$(awk -v b="$total" -v n="$requests" 'BEGIN { printf "%.0f", b / n }')
  # The same bytes per response as the checked answers (±2%): not a redirect or an error page.
  awk -v got="${bytes[$key]}" -v want="$expect" 'BEGIN { exit !(got > want * 0.98 && got < want * 1.02) }' \
    || die "$key: $((bytes[$key])) bytes per response during the run, $expect in the checked answers: the server answered something else"
  rps[$key]=$(awk -v n="$requests" -v s="$seconds" 'BEGIN { printf "%.1f", n / s }')
  say "    ${rps[$key]} r/s, p50 ${p50[$key]} ms, p99 ${p99[$key]} ms, ${bytes[$key]} B per response, ${logged[$key]} errors logged"
}

# ---------------------------------------------------------------------------------------------
# Kanboard: a copy of the checkout with our config.php, php-fpm and nginx on loopback.
kb_pids=()
kb_start() { # store
  local store=$1 kb=$work/kanboard-$store data=$work/kanboard-data-$store
  mkdir -p "$kb" "$data" "$work/nginx-tmp"
  tar -C "$KANBOARD_DIR" --exclude=./.git --exclude=./data -cf - . | tar -C "$kb" -xf -
  mkdir -p "$kb/data"
  rm -f "$kb/config.php"
  {
    echo "<?php"
    echo "define('DATA_DIR', '$data');"
    echo "define('LOG_DRIVER', 'file');"
    echo "define('LOG_FILE', '$work/kanboard-$store.log');"
    echo "define('DEBUG', false);"
    echo "define('PLUGIN_INSTALLER', false);"
    if [ "$store" = postgres ]; then
      echo "define('DB_DRIVER', 'postgres');"
      echo "define('DB_HOSTNAME', '$PG_HOST');"
      echo "define('DB_PORT', $PG_PORT);"
      echo "define('DB_USERNAME', '$PG_USER');"
      echo "define('DB_PASSWORD', '');"
      echo "define('DB_NAME', '$kb_db');"
    else
      echo "define('DB_DRIVER', 'sqlite');"
    fi
  } > "$kb/config.php"
  # Reports whether opcache is on inside php-fpm (php -v speaks only for the CLI).
  cat > "$kb/bench-opcache.php" <<'PHP'
<?php
$s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
echo ($s && $s['opcache_enabled']) ? 'on' : 'off', ' validate_timestamps=', ini_get('opcache.validate_timestamps'),
  ' memory=', ini_get('opcache.memory_consumption'), 'M jit_buffer=', ini_get('opcache.jit_buffer_size') ?: '0';
PHP

  local as_root=() user_line="" nginx_user=""
  if [ "$(id -u)" = 0 ]; then as_root=(-R); user_line="user = root
group = root"; nginx_user="user root root;"; fi
  cat > "$work/php-fpm-$store.conf" <<FPM
[global]
pid = $work/php-fpm-$store.pid
error_log = $work/php-fpm-$store.log
daemonize = no
[kanboard]
$user_line
listen = $work/php-fpm-$store.sock
listen.backlog = 4096
pm = static
pm.max_children = $PHP_CHILDREN
pm.max_requests = 0
php_admin_value[error_log] = $work/php-errors-$store.log
php_admin_flag[log_errors] = on
FPM
  "$PHP_FPM" -F "${as_root[@]}" -y "$work/php-fpm-$store.conf" \
    -d opcache.enable=1 -d opcache.validate_timestamps=0 -d opcache.memory_consumption=128 \
    -d opcache.interned_strings_buffer=16 -d opcache.max_accelerated_files=20000 \
    -d realpath_cache_size=4096K -d realpath_cache_ttl=600 \
    >"$work/php-fpm-$store.out" 2>&1 &
  kb_pids=($!); pids+=($!)

  cat > "$work/nginx-$store.conf" <<NGINX
$nginx_user
worker_processes 2;
pid $work/nginx-$store.pid;
error_log $work/nginx-error-$store.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path $work/nginx-tmp/body;
  fastcgi_temp_path $work/nginx-tmp/fastcgi;
  proxy_temp_path $work/nginx-tmp/proxy;
  uwsgi_temp_path $work/nginx-tmp/uwsgi;
  scgi_temp_path $work/nginx-tmp/scgi;
  server {
    listen 127.0.0.1:$KB_PORT;
    root $kb;
    index index.php;
    location ~ \.php\$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_pass unix:$work/php-fpm-$store.sock;
      fastcgi_buffer_size 64k;
      fastcgi_buffers 256 16k;
    }
  }
}
NGINX
  nginx -e "$work/nginx-error-$store.log" -c "$work/nginx-$store.conf" -g 'daemon off;' \
    >"$work/nginx-$store.out" 2>&1 &
  kb_pids+=($!); pids+=($!)
  for _ in $(seq 1 100); do [ -S "$work/php-fpm-$store.sock" ] && break; sleep 0.1; done
  wait_http "http://127.0.0.1:$KB_PORT/" \
    || die "Kanboard did not start: $(cat "$work/php-fpm-$store.out" "$work/nginx-error-$store.log" 2>/dev/null)"
}

kb_rpc() { # curl args… : a JSON-RPC call with the application token
  curl -s -u "jsonrpc:$kb_token" -H 'Content-Type: application/json' "$@" "http://127.0.0.1:$KB_PORT/jsonrpc.php"
}

kb_batch() { # method first last params-format : a JSON-RPC batch of calls i = first…last
  awk -v m="$1" -v a="$2" -v b="$3" -v f="$4" 'BEGIN {
    printf "["
    for (i = a; i <= b; i++) {
      if (i > a) printf ","
      printf "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":%d,\"params\":" f "}", m, i, i
    }
    printf "]" }'
}

kb_seed() { # store -> sets kb_token, kb_board, kb_cookie
  local store=$1 started=$SECONDS
  # The first request creates the schema (and the admin, admin/admin, and the API token).
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$KB_PORT/?controller=AuthController&action=login")
  expect_eq "Kanboard's sign-in page" "$code" 200
  if [ "$store" = postgres ]; then
    kb_token=$(psql -X -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$kb_db" -Atc "SELECT value FROM settings WHERE option = 'api_token'")
  else
    kb_token=$("$PHP" -r '$db = new PDO("sqlite:" . $argv[1]);
      echo $db->query("SELECT value FROM settings WHERE option = '"'api_token'"'")->fetchColumn();' "$work/kanboard-data-$store/db.sqlite")
  fi
  [ -n "$kb_token" ] || die "Kanboard's API token is not in its settings table"
  kb_version=$(kb_rpc -d '{"jsonrpc":"2.0","method":"getVersion","id":1}' | sed -n 's/.*"result":"\([^"]*\)".*/\1/p')
  [ -n "$kb_version" ] || die "Kanboard's JSON-RPC getVersion did not answer"

  kb_board=$(kb_rpc -d '{"jsonrpc":"2.0","method":"createProject","id":1,"params":{"name":"Project 0001","owner_id":1}}' \
    | sed -n 's/.*"result":\([0-9][0-9]*\).*/\1/p')
  [ -n "$kb_board" ] || die "Kanboard's createProject failed"
  local first made
  for first in $(seq 2 200 "$PROJECTS"); do
    local last=$((first + 199 > PROJECTS ? PROJECTS : first + 199))
    made=$(kb_batch createProject "$first" "$last" '{"name":"Project %04d","owner_id":1}' \
      | kb_rpc --data-binary @- | count '"result":[0-9][0-9]*')
    expect_eq "Kanboard's createProject batch $first-$last" "$made" $((last - first + 1))
  done
  made=$(kb_batch createTask 1 "$TASKS" "{\"project_id\":$kb_board,\"title\":\"Task %d\"}" \
    | kb_rpc --data-binary @- | count '"result":[0-9][0-9]*')
  expect_eq "Kanboard's createTask batch" "$made" "$TASKS"

  # Sign in as admin through the form (its CSRF token from the sign-in page).
  local jar=$work/kanboard-$store.cookies csrf
  curl -s -c "$jar" -b "$jar" -o "$work/kb-login.html" "http://127.0.0.1:$KB_PORT/?controller=AuthController&action=login"
  csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/kb-login.html" | head -1)
  code=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' \
    --data-urlencode "csrf_token=$csrf" -d username=admin -d password=admin \
    "http://127.0.0.1:$KB_PORT/?controller=AuthController&action=check")
  case $code in
    "302 "*AuthController*|"302 ") die "Kanboard's sign-in as admin/admin failed: $code" ;;
    "302 "*) ;;
    *) die "Kanboard's sign-in answered $code" ;;
  esac
  kb_cookie="KB_SID=$(awk '$6 == "KB_SID" {print $7}' "$jar")"
  [ "$kb_cookie" != "KB_SID=" ] || die "Kanboard's sign-in set no KB_SID cookie"
  say "  Kanboard $kb_version on $store: $PROJECTS projects and $TASKS tasks in $((SECONDS - started)) s"
}

kb_measure() { # store measure : check Kanboard's answer, then measure it
  local store=$1 f=$work/kb-answer code size
  local base="http://127.0.0.1:$KB_PORT"
  local board_path="/?controller=BoardViewController&action=show&project_id=$kb_board"
  local list_path="/?controller=ProjectListController&action=show"
  local auth="Authorization: Basic $(printf 'jsonrpc:%s' "$kb_token" | base64 -w0)"
  local board_rpc="{\"jsonrpc\":\"2.0\",\"method\":\"getBoard\",\"id\":1,\"params\":[$kb_board]}"
  local list_rpc='{"jsonrpc":"2.0","method":"getAllProjects","id":1}'
  watch_log=$work/php-errors-$store.log watch_pattern='^\[.*PHP '  # PHP's own error log
  case $2 in
    board_page)
      read -r code size < <(fetch "$f" "$base$board_path" -H "Cookie: $kb_cookie")
      expect_eq "Kanboard's board page" "$code" 200
      expect_eq "tasks on Kanboard's board page" "$(count_unique 'data-task-id="[0-9]*"' "$f")" "$TASKS"
      measure "$store/board_page/kanboard" "$base/" "$size" "$board_path" -H "Cookie: $kb_cookie" ;;
    board_api)
      read -r code size < <(fetch "$f" "$base/jsonrpc.php" -H "$auth" -H 'Content-Type: application/json' -d "$board_rpc")
      expect_eq "Kanboard's getBoard" "$code" 200
      expect_eq "tasks in Kanboard's getBoard" "$(count '"nb_comments":' "$f")" "$TASKS"
      expected_bytes[$store/board_api/kanboard]=$size
      WRK_METHOD=POST WRK_BODY=$board_rpc measure "$store/board_api/kanboard" "$base/" "$size" /jsonrpc.php \
        -H "$auth" -H 'Content-Type: application/json' ;;
    list_page)
      read -r code size < <(fetch "$f" "$base$list_path" -H "Cookie: $kb_cookie")
      expect_eq "Kanboard's project list page" "$code" 200
      grep -q "Projects ($PROJECTS)" "$f" || die "Kanboard's project list page does not say Projects ($PROJECTS)"
      expect_eq "projects on Kanboard's project list page" \
        "$(count_unique 'BoardViewController&amp;action=show&amp;project_id=[0-9]*"' "$f")" 20
      measure "$store/list_page/kanboard" "$base/" "$size" "$list_path" -H "Cookie: $kb_cookie" ;;
    list_api)
      read -r code size < <(fetch "$f" "$base/jsonrpc.php" -H "$auth" -H 'Content-Type: application/json' -d "$list_rpc")
      expect_eq "Kanboard's getAllProjects" "$code" 200
      expect_eq "projects in Kanboard's getAllProjects" "$(count '"identifier":' "$f")" "$PROJECTS"
      expected_bytes[$store/list_api/kanboard]=$size
      WRK_METHOD=POST WRK_BODY=$list_rpc measure "$store/list_api/kanboard" "$base/" "$size" /jsonrpc.php \
        -H "$auth" -H 'Content-Type: application/json' ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Ours: one brand, b1.localhost, served on the HTTP listener in development mode.
ts_pids=()
ts_env=()
ts_start() { # store
  local store=$1 dir=$work/ts-$store
  mkdir -p "$dir"
  ts_env=(TASKSESSION_LISTEN_HTTP=127.0.0.1:$TS_PORT TASKSESSION_LISTEN_HTTPS=127.0.0.1:18443
    TASKSESSION_LISTEN_OPERATOR=127.0.0.1:19090 RUST_LOG=warn)
  [ "$store" = postgres ] && ts_env+=(TASKSESSION_DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$ts_db")
  ( cd "$dir" && env -u TASKSESSION_BIN "${ts_env[@]}" "$TS_BIN" domain add "$TS_HOST" --brand "Brand 1" \
      --admin-email "admin@$TS_HOST" ) > "$work/ts-domain-$store.out" 2>&1 \
    || die "tasksession domain add failed: $(cat "$work/ts-domain-$store.out")"
  sed -n 's|.*/invite/||p' "$work/ts-domain-$store.out" > "$work/invitation"
  [ -s "$work/invitation" ] || die "tasksession domain add printed no invitation link: $(cat "$work/ts-domain-$store.out")"
  ( cd "$dir" && exec env -u TASKSESSION_BIN "${ts_env[@]}" "$TS_BIN" serve ) >"$work/ts-$store.log" 2>&1 &
  ts_pids=($!); pids+=($!)
  wait_http "http://127.0.0.1:$TS_PORT/sign-in" -f -H "Host: $TS_HOST" \
    || die "tasksession did not start: $(tail -5 "$work/ts-$store.log")"
}

ts_api() { # path [curl args…]
  local path=$1; shift
  curl -s -H "Host: $TS_HOST:$TS_PORT" -H "Origin: http://$TS_HOST:$TS_PORT" \
    -H 'Content-Type: application/json' "$@" "http://127.0.0.1:$TS_PORT$path"
}

ts_posts() { # path json-format first last : POSTs with the token, 4 at a time, one curl -> codes
  local path=$1 first=$3 last=$4
  FORMAT=${2//\"/\\\"} awk -v url="http://127.0.0.1:$TS_PORT$path" -v host="$TS_HOST:$TS_PORT" \
      -v token="$ts_token" -v a="$first" -v b="$last" 'BEGIN {
    for (i = a; i <= b; i++) {
      body = sprintf(ENVIRON["FORMAT"], i)
      printf "url = \"%s\"\nsilent\nrequest = \"POST\"\nheader = \"Host: %s\"\n", url, host
      printf "header = \"Authorization: Bearer %s\"\nheader = \"Content-Type: application/json\"\n", token
      printf "data = \"%s\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\n", body
      if (i < b) print "next"
    } }' > "$work/curl-posts.conf"
  # (stderr: curl shows a progress meter in parallel mode even when silent)
  curl -s --parallel --parallel-max 4 -K "$work/curl-posts.conf" 2>>"$work/curl-posts.err"
}

ts_seed() { # store -> sets ts_token, ts_cookie, ts_board
  local store=$1 started=$SECONDS password='correct horse battery staple' code
  code=$(ts_api "/api/v1/invitations/$(cat "$work/invitation")/accept" -o /dev/null -w '%{http_code}' \
    -X POST -d "{\"password\":\"$password\"}")
  [[ $code == 2* ]] || die "accepting our invitation answered $code"
  ts_cookie=$(ts_api /api/v1/session -i -X POST -d "{\"email\":\"admin@$TS_HOST\",\"password\":\"$password\"}" \
    | sed -n 's/^set-cookie: \(__Host-ts_session=[^;]*\).*/\1/ip' | tr -d '\r')
  [ -n "$ts_cookie" ] || die "our sign-in set no session cookie"
  ts_token=$(ts_api /api/v1/tokens -H "Cookie: $ts_cookie" -X POST -d '{"name":"bench"}' \
    | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  [ -n "$ts_token" ] || die "our POST /api/v1/tokens gave no token"
  ts_board=$(ts_api /api/v1/projects -H "Authorization: Bearer $ts_token" -X POST -d '{"name":"Project 0001"}' \
    | { grep -o '"id":"[^"]*"' || true; } | head -1 | cut -d'"' -f4)
  [ -n "$ts_board" ] || die "our POST /api/v1/projects failed"
  local made
  made=$(ts_posts /api/v1/projects '{"name":"Project %04d"}' 2 "$PROJECTS" | count '^201$')
  expect_eq "our projects created" "$made" $((PROJECTS - 1))
  say "  ours on $store: $PROJECTS projects in $((SECONDS - started)) s"
  made=$(ts_posts "/api/v1/projects/$ts_board/tasks" '{"title":"Task %d"}' 1 "$TASKS" | count '^201$')
  expect_eq "our tasks created" "$made" "$TASKS"
  say "  ours on $store: $PROJECTS projects and $TASKS tasks in $((SECONDS - started)) s"
}

ts_pages() { # path-with-query count-pattern : every page, following next_cursor; sets
  # pages_items (the pattern's count in all), pages_count, pages_bytes (head + body), pages_paths
  local path=$1 f=$work/ts-page cursor="" paths="" code size n total=0 sizes=0 pages=0
  while :; do
    local p=$path
    [ -n "$cursor" ] && p="$path&cursor=$cursor"
    read -r code size < <(fetch "$f" "http://127.0.0.1:$TS_PORT$p" -H "Host: $TS_HOST" -H "Authorization: Bearer $ts_token")
    expect_eq "our GET $p" "$code" 200
    n=$(count "$2" "$f")
    total=$((total + n)) sizes=$((sizes + size)) pages=$((pages + 1)) paths+="$p "
    cursor=$(sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p' "$f")
    [ -z "$cursor" ] && break
    [[ $cursor =~ ^[A-Za-z0-9._~-]+$ ]] || die "cursor '$cursor' would need percent-encoding"
    [ "$pages" -lt 100 ] || die "our GET $path: more than 100 pages"
  done
  pages_items=$total pages_count=$pages pages_bytes=$sizes pages_paths=$paths
}

ts_measure() { # store measure : check our answer, then measure it
  local store=$1 f=$work/ts-answer code size
  local base="http://127.0.0.1:$TS_PORT"
  local auth="Authorization: Bearer $ts_token"
  watch_log=$work/ts-$store.log watch_pattern='WARN\|ERROR'  # RUST_LOG=warn
  case $2 in
    board_page)
      read -r code size < <(fetch "$f" "$base/projects/$ts_board" -H "Host: $TS_HOST" -H "Cookie: $ts_cookie")
      expect_eq "our board page" "$code" 200
      expect_eq "tasks on our board page" "$(count '<article class="task">' "$f")" "$TASKS"
      measure "$store/board_page/ours" "$base/" "$size" "/projects/$ts_board" -H "Host: $TS_HOST" -H "Cookie: $ts_cookie" ;;
    board_api)
      ts_pages "/api/v1/projects/$ts_board/tasks?limit=200" '"visibility":'
      expect_eq "tasks in our board's API pages" "$pages_items" "$TASKS"
      ts_board_pages=$pages_count
      expected_bytes[$store/board_api/ours]=$pages_bytes
      measure "$store/board_api/ours" "$base/" $((pages_bytes / pages_count)) "$pages_paths" -H "Host: $TS_HOST" -H "$auth" ;;
    list_page)
      read -r code size < <(fetch "$f" "$base/projects" -H "Host: $TS_HOST" -H "Cookie: $ts_cookie")
      expect_eq "our project list page" "$code" 200
      expect_eq "projects on our project list page" "$(count '<td><a href="/projects/' "$f")" 100
      grep -q 'More projects' "$f" || die "our project list page has no link to the next page"
      measure "$store/list_page/ours" "$base/" "$size" /projects -H "Host: $TS_HOST" -H "Cookie: $ts_cookie" ;;
    list_api)
      ts_pages "/api/v1/projects?limit=200" '"company_name":'
      expect_eq "projects in our project list's API pages" "$pages_items" "$PROJECTS"
      ts_list_pages=$pages_count
      expected_bytes[$store/list_api/ours]=$pages_bytes
      measure "$store/list_api/ours" "$base/" $((pages_bytes / pages_count)) "$pages_paths" -H "Host: $TS_HOST" -H "$auth" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
run_started=$SECONDS
for store in $STORES; do
  say "$store: Kanboard…"
  kb_db="" ts_db=""
  if [ "$store" = postgres ]; then
    kb_db=kb_bench_$$ ts_db=ts_bench_$$
    for db in $kb_db $ts_db; do
      "${pg_admin[@]}" -c "CREATE DATABASE $db" >/dev/null
      databases+=("$db")
    done
    pg_version=$("${pg_admin[@]}" -Atc 'SHOW server_version')
  fi
  kb_start "$store"
  kb_seed "$store"
  opcache_state=$(curl -s "http://127.0.0.1:$KB_PORT/bench-opcache.php")
  say "$store: ours…"
  ts_start "$store"
  ts_seed "$store"
  # Kanboard and ours in turns, measure by measure, so that what else the machine does
  # weighs on both alike; the idle one waits.
  for m in board_page board_api list_page list_api; do
    kb_measure "$store" "$m"
    ts_measure "$store" "$m"
  done
  stop "${kb_pids[@]}" "${ts_pids[@]}"
  if [ -s "$work/php-errors-$store.log" ]; then
    say "  (PHP's error log has $(grep -c '^\[.*PHP ' "$work/php-errors-$store.log" || true) entries, the first: $(grep -m1 'PHP ' "$work/php-errors-$store.log" | cut -c1-200))"
  fi
done

# ---------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
lat() { [ -n "${p50[$1]:-}" ] && echo "${p50[$1]} / ${p99[$1]}" || echo "-"; }

php_version=$("$PHP" -v | head -1 | awk '{print $1, $2}')
nginx_version=$(nginx -v 2>&1 | sed 's|.*nginx/||')
ts_version=$("$TS_BIN" --version 2>/dev/null | head -1)
ts_commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$built_here" ]; then
  ts_what="$ts_version (release build of commit $ts_commit$(git diff --quiet HEAD 2>/dev/null || echo ' with changes'))"
else
  ts_what="$ts_version ($TS_BIN of $(date -r "$TS_BIN" '+%F %H:%M'); checkout at $ts_commit)"
fi
kb_tag=$kb_version
[ -e "$KANBOARD_DIR/.git" ] && kb_tag=$(git -C "$KANBOARD_DIR" describe --tags 2>/dev/null || echo "$kb_version")

echo
echo "Kanboard $kb_tag ($php_version php-fpm, pm=static $PHP_CHILDREN children, opcache $opcache_state; nginx $nginx_version, 2 workers)"
echo "against $ts_what, each on the same store${pg_version:+ (PostgreSQL $pg_version)}"
echo "plain HTTP on loopback, keep-alive; wrk -t2 -c$CONNECTIONS -d${DURATION}s --timeout $WRK_TIMEOUT after ${WARMUP}s of warm-up; $(nproc) cores shared by clients and servers"
echo "$PROJECTS projects, one with $TASKS tasks in one column; signed in as an admin (session cookie for pages, API token for the API)"
echo
fmt='%-8s %-46s %12s %10s %8s %20s %16s %10s %10s %7s\n'
printf "$fmt" store measure "Kanboard r/s" "ours r/s" ratio "Kanboard p50/p99 ms" "ours p50/p99 ms" "Kanboard B" "ours B" "logged"
for store in $STORES; do
  k=$store/board_page/kanboard o=$store/board_page/ours
  printf "$fmt" "$store" "board page, HTML ($TASKS tasks)" "${rps[$k]}" "${rps[$o]}" "$(ratio "${rps[$o]}" "${rps[$k]}")" \
    "$(lat "$k")" "$(lat "$o")" "${bytes[$k]}" "${bytes[$o]}" "${logged[$k]}/${logged[$o]}"
  k=$store/board_api/kanboard o=$store/board_api/ours
  printf "$fmt" "" "board API, requests (K whole board, ours ≤200)" "${rps[$k]}" "${rps[$o]}" "$(ratio "${rps[$o]}" "${rps[$k]}")" \
    "$(lat "$k")" "$(lat "$o")" "${bytes[$k]}" "${bytes[$o]}" "${logged[$k]}/${logged[$o]}"
  ob=$(div "${rps[$o]}" "$ts_board_pages")
  printf "$fmt" "" "board API, whole boards ($ts_board_pages requests ours)" "${rps[$k]}" "$ob" "$(ratio "$ob" "${rps[$k]}")" \
    "-" "-" "${expected_bytes[$k]}" "${expected_bytes[$o]}" ""
  k=$store/list_page/kanboard o=$store/list_page/ours
  printf "$fmt" "" "project list page, HTML (K 20, ours 100/page)" "${rps[$k]}" "${rps[$o]}" "$(ratio "${rps[$o]}" "${rps[$k]}")" \
    "$(lat "$k")" "$(lat "$o")" "${bytes[$k]}" "${bytes[$o]}" "${logged[$k]}/${logged[$o]}"
  kp=$(awk -v r="${rps[$k]}" 'BEGIN { printf "%.0f", r * 20 }') op=$(awk -v r="${rps[$o]}" 'BEGIN { printf "%.0f", r * 100 }')
  printf "$fmt" "" "project list page, projects shown/s" "$kp" "$op" "$(ratio "$op" "$kp")" "-" "-" "-" "-" ""
  k=$store/list_api/kanboard o=$store/list_api/ours
  printf "$fmt" "" "project list API, requests (K 2000, ours 200)" "${rps[$k]}" "${rps[$o]}" "$(ratio "${rps[$o]}" "${rps[$k]}")" \
    "$(lat "$k")" "$(lat "$o")" "${bytes[$k]}" "${bytes[$o]}" "${logged[$k]}/${logged[$o]}"
  ol=$(div "${rps[$o]}" "$ts_list_pages")
  printf "$fmt" "" "project list API, whole lists ($ts_list_pages requests ours)" "${rps[$k]}" "$ol" "$(ratio "$ol" "${rps[$k]}")" \
    "-" "-" "${expected_bytes[$k]}" "${expected_bytes[$o]}" ""
done
echo
echo "B: bytes per response, head and body as wrk counted them; on the \"whole\" rows, bytes per whole board or list."
echo "logged: error entries in each server's log during the run, Kanboard/ours (PHP's error log; ours at RUST_LOG=warn)."
for store in $STORES; do
  k=0 o=0
  for m in board_page board_api list_page list_api; do
    k=$((k + logged[$store/$m/kanboard])) o=$((o + logged[$store/$m/ours]))
  done
  if [ "$k" -gt 0 ]; then
    echo "Kanboard on $store logged, for example: $(grep -m1 'PHP ' "$work/php-errors-$store.log" | sed "s|$work/||g" | cut -c1-200)"
  fi
  if [ "$o" -gt 0 ]; then
    echo "ours on $store logged, for example: $(grep 'WARN\|ERROR' "$work/ts-$store.log" | grep -v 'no licence installed' | head -1 | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-200)"
  fi
done
echo "Kanboard: board view (?controller=BoardViewController&action=show), JSON-RPC getBoard and getAllProjects with"
echo "the application token, project list ?controller=ProjectListController&action=show (20 a page, its fixed size)."
echo "Ours: GET /projects/{id}, GET /api/v1/projects/{id}/tasks?limit=200 (200 a page at most, cursors followed),"
echo "GET /projects (100 a page), GET /api/v1/projects?limit=200 (default 50, at most 200 a page)."
echo "ratio: ours / Kanboard. The run took $((SECONDS - run_started)) s."
