#!/usr/bin/env bash
# A soak: steady load on a served, generated organisation while its files change and SLI events arrive.
#
#   bench/soak.sh [--duration SECONDS] [--services N] [--database sqlite|postgres]
#
# What runs at once, for --duration (default 600):
#   - wrk (-t2 -c16, bench/soak.lua) walking through pages and API calls: the catalog (plain, filtered, searched),
#     service pages (one with SLOs), the largest team, a system, /scorecards, the JSON API, an SLO's evaluation;
#   - a refresh loop: every SOAK_REFRESH_EVERY seconds (default 20) rewrites 20 component files
#     (generate_catalog.py --modify) and asks for a refresh (POST /api/v1/refresh);
#   - a push loop: every second, an hour of minute samples POSTed to one of 20 SLOs (the events API);
#   - the server's RSS and the memory it has allocated (`portolan_memory_bytes` in /metrics), read every 5 seconds.
# At the end it prints throughput and p50/p99 of the page load, the 5xx count, the refreshes and pushes done
# (and any that failed), and RSS after the warm-up (the first tenth of the run, at least 30 s) and at the end. It exits
# 1 on any 5xx (pages or pushes), on a failed refresh request, or when RSS grew by more than SOAK_RSS_GROWTH_MIB
# (default 64) after the warm-up.
#
# Environment:
#   BENCH_BIN               the portolan binary (default $CARGO_TARGET_DIR/release/portolan, else target/release)
#   PORTOLAN_BENCH_PG_URL   for --database postgres: a server where the script may create portolan_soak
#   SOAK_PORT (default 7980), SOAK_RSS_GROWTH_MIB, SOAK_REFRESH_EVERY, BENCH_KEEP=1 keeps the scratch folder
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/portolan}
# The script works in a scratch folder: a relative path is taken from where it was started.
[[ $BIN == /* ]] || BIN=$PWD/$BIN
GENERATOR=$REPO/bench/generate_catalog.py
DURATION=600
SERVICES=2000
DATABASE=sqlite
PORT=${SOAK_PORT:-7980}
BIND=127.0.0.1:$PORT
GROWTH_BOUND=${SOAK_RSS_GROWTH_MIB:-64}
REFRESH_EVERY=${SOAK_REFRESH_EVERY:-20}

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

while (($#)); do
    case $1 in
        --duration) DURATION=${2:?--duration needs seconds}; shift ;;
        --services) SERVICES=${2:?--services needs a number}; shift ;;
        --database) DATABASE=${2:?--database needs sqlite or postgres}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument \`$1\` (see --help)" ;;
    esac
    shift
done
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration: \`$DURATION\` is not a whole number of seconds"
[[ $SERVICES =~ ^[1-9][0-9]*$ ]] || die "--services: \`$SERVICES\` is not a positive number"
[[ $GROWTH_BOUND =~ ^[0-9]+$ ]] || die "SOAK_RSS_GROWTH_MIB must be whole MiB"
[[ -x $BIN ]] || die "$BIN is missing: build it (cargo build --release -p portolan) or set BENCH_BIN"
command -v wrk >/dev/null || die "wrk is required (apt-get install -y wrk)"
unset PORTOLAN_LOCATIONS PORTOLAN_DEMO PORTOLAN_BIND PORTOLAN_DATABASE_URL

WORK=$(mktemp -d "${TMPDIR:-/tmp}/portolan-soak.XXXXXX")
PIDS=()
SERVER_PID=""
cleanup() {
    local status=$?
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    if [[ -n $SERVER_PID ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK (rss.txt: seconds and KiB)"; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$WORK"

case $DATABASE in
    sqlite) URL=sqlite://$WORK/soak.db ;;
    postgres)
        [[ -n ${PORTOLAN_BENCH_PG_URL:-} ]] || die "--database postgres needs PORTOLAN_BENCH_PG_URL"
        psql "$PORTOLAN_BENCH_PG_URL" -v ON_ERROR_STOP=1 -q -c "DROP DATABASE IF EXISTS portolan_soak" \
            -c "CREATE DATABASE portolan_soak" >/dev/null || die "cannot create database portolan_soak"
        URL=${PORTOLAN_BENCH_PG_URL%/*}/portolan_soak
        ;;
    *) die "--database: sqlite or postgres, not \`$DATABASE\`" ;;
esac

log "generating $SERVICES services; ingesting; loading SLI history"
python3 "$GENERATOR" --services "$SERVICES" --out "$WORK/catalog" --seed 42 >/dev/null
info() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/catalog/.portolan-bench.json" "$1"; }
"$BIN" ingest --database-url "$URL" "$WORK/catalog/all.yaml" >"$WORK/ingest.log" || die "ingest failed: $(tail -n 5 "$WORK/ingest.log")"
"$BIN" slo import --database-url "$URL" "$WORK/catalog/sli-history.jsonl" >"$WORK/import.log" ||
    die "slo import failed: $(tail -n 5 "$WORK/import.log")"
TOKEN=$("$BIN" token create --database-url "$URL" --name soak 2>/dev/null) || die "cannot create a token"
mapfile -t PUSH_SLOS < <(find "$WORK/catalog/slos" -name '*.yaml' -exec grep -h '^  name: .*-availability$' {} + |
    awk '{ print $2 }' | sort | head -n 20)
((${#PUSH_SLOS[@]})) || die "the generated organisation has no OpenSLO SLOs to push to"

cat >"$WORK/portolan.toml" <<EOF
locations = ["$WORK/catalog/all.yaml"]
refresh_interval_secs = 300
EOF
"$BIN" serve --config "$WORK/portolan.toml" --database-url "$URL" --bind "$BIND" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 240); do
    curl -sf -m 2 -o /dev/null "http://$BIND/readyz" && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited: $(tail -n 5 "$WORK/serve.log")"
    sleep 0.25
done
curl -sf -m 2 -o /dev/null "http://$BIND/readyz" || die "the server was not ready within 60 s"

SLO_SERVICE=$(info sample_slo_component)
export SOAK_PATHS="/catalog /catalog?kind=component&lifecycle=production /catalog?q=payments
/catalog/default/component/$(info sample_component) /catalog/default/component/$SLO_SERVICE
/catalog/default/component/$(info hub_component) /catalog/default/system/$(info largest_system)
/teams/$(info largest_team) /scorecards /api/v1/entities?kind=component&limit=20
/api/v1/services/default/$SLO_SERVICE /api/v1/slos/default/$(info sample_slo) /healthz"

# Samples RSS every 5 s, and what the portal has allocated (jemalloc's figure from /metrics): "seconds-since-start
# KiB KiB". RSS also counts SQLite's page caches, the allocator's free pages not yet returned, and the binary.
STARTED=$(date +%s)
(
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        printf '%d %s %s\n' $(($(date +%s) - STARTED)) "$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")" \
            "$(curl -s -m 5 "http://$BIND/metrics" |
                awk '$1 == "portolan_memory_bytes{state=\"allocated\"}" { printf "%d", $2 / 1024 }')"
        sleep 5
    done
) >"$WORK/rss.txt" 2>/dev/null &
PIDS+=($!)

# Rewrites files and asks for a refresh; one line per request: the HTTP status.
(
    while true; do
        sleep "$REFRESH_EVERY"
        python3 "$GENERATOR" --modify 20 --out "$WORK/catalog" >/dev/null
        curl -s -o /dev/null -w '%{http_code}\n' -m 30 -X POST -H "Authorization: Bearer $TOKEN" \
            "http://$BIND/api/v1/refresh"
    done
) >"$WORK/refresh.txt" 2>/dev/null &
PIDS+=($!)

# Pushes the last hour of minutes to one SLO a second, in turn; one line per push: the HTTP status.
(
    i=0
    while true; do
        slo=${PUSH_SLOS[i % ${#PUSH_SLOS[@]}]}
        body=$(python3 -c 'import json, sys, time
now = int(time.time()) // 60 * 60
print(json.dumps([{"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60 * a)),
                   "good": 990 + a % 10, "total": 1000} for a in range(60, 0, -1)]))')
        curl -s -o /dev/null -w '%{http_code}\n' -m 30 -X POST -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' --data "$body" "http://$BIND/api/v1/slos/default/$slo/events"
        i=$((i + 1))
        sleep 1
    done
) >"$WORK/push.txt" 2>/dev/null &
PIDS+=($!)

log "load for ${DURATION}s on $BIND ($DATABASE, $SERVICES services; $(uptime | sed 's/.*load/load/'))"
wrk -t2 -c16 -d"${DURATION}s" --latency -s "$REPO/bench/soak.lua" "http://$BIND" >"$WORK/wrk.txt" 2>&1 ||
    die "wrk failed: $(tail -n 5 "$WORK/wrk.txt")"
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
PIDS=()
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the soak: $(tail -n 5 "$WORK/serve.log")"

read -r RPS P50 P99 < <(awk '
    function ms(v,   n, u) {
        if (!match(v, /^[0-9]+(\.[0-9]+)?/)) return "n/a"
        n = substr(v, 1, RLENGTH) + 0; u = substr(v, RLENGTH + 1)
        return sprintf("%.2f", u == "us" ? n / 1000 : u == "s" ? n * 1000 : n)
    }
    $1 == "Requests/sec:" { rps = sprintf("%.0f", $2) }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { print rps, p50, p99 }' "$WORK/wrk.txt")
PAGE_5XX=$(awk '$1 == "soak-5xx:" { print $2 }' "$WORK/wrk.txt")
SOCKET=$(awk '$1 == "Socket" { print }' "$WORK/wrk.txt")
REQUESTS=$(awk '/requests in/ { print $1 }' "$WORK/wrk.txt")
REFRESHES=$(wc -l <"$WORK/refresh.txt")
REFRESH_BAD=$(grep -cv '^202$' "$WORK/refresh.txt" || true)
PUSHES=$(wc -l <"$WORK/push.txt")
PUSH_5XX=$(grep -c '^5' "$WORK/push.txt" || true)
PUSH_OTHER=$(grep -cv '^200$' "$WORK/push.txt" || true)
WARM_AT=$((DURATION / 10 > 30 ? DURATION / 10 : 30))
# One column of the memory samples (2: RSS, 3: allocated) as "after-warm-up end highest", in MiB.
memory_figures() {
    awk -v w="$WARM_AT" -v c="$1" '
        $c ~ /^[0-9]+$/ { if (warm == "" && $1 >= w) warm = $c; last = $c; if ($c > max) max = $c }
        END { if (warm == "") warm = last; printf "%d %d %d\n", warm / 1024, last / 1024, max / 1024 }' "$WORK/rss.txt"
}
read -r RSS_WARM RSS_END RSS_MAX < <(memory_figures 2)
GROWTH=$((RSS_END - RSS_WARM))
read -r HEAP_WARM HEAP_END HEAP_MAX < <(memory_figures 3)

cat <<EOF

## Soak: $DATABASE, $SERVICES services, ${DURATION}s ($(date -u '+%Y-%m-%d %H:%M UTC'))

| figure | value |
|---|---|
| page and API load (wrk -t2 -c16, $(echo "$SOAK_PATHS" | wc -w) paths in turn) | $REQUESTS requests, $RPS req/s |
| latency p50 / p99 (ms) | $P50 / $P99 |
| 5xx answers (pages and API calls) | ${PAGE_5XX:-unknown} |
| socket errors | ${SOCKET:-none} |
| refreshes asked (20 files rewritten each) | $REFRESHES, $REFRESH_BAD not accepted |
| SLI pushes (60 samples each) | $PUSHES, $PUSH_5XX 5xx, $PUSH_OTHER not 200 |
| RSS after warm-up (${WARM_AT}s) / at the end / highest (MiB) | $RSS_WARM / $RSS_END / $RSS_MAX (bound: +$GROWTH_BOUND) |
| allocated by the portal, same moments (MiB) | $HEAP_WARM / $HEAP_END / $HEAP_MAX |
| load average at the end | $(cut -d' ' -f1-3 /proc/loadavg) |
EOF

failed=0
[[ ${PAGE_5XX:-x} == 0 ]] || { log "FAIL: ${PAGE_5XX:-unknown} 5xx answers to pages and API calls"; failed=1; }
((PUSH_5XX == 0)) || { log "FAIL: $PUSH_5XX pushes answered 5xx"; failed=1; }
((REFRESH_BAD == 0)) || { log "FAIL: $REFRESH_BAD refresh requests not accepted"; failed=1; }
((GROWTH <= GROWTH_BOUND)) || { log "FAIL: RSS grew by $GROWTH MiB after the warm-up (bound $GROWTH_BOUND)"; failed=1; }
((failed == 0)) && log "passed"
exit "$failed"
