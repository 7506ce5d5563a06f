#!/usr/bin/env bash
# Measures Portolan on this machine: ingest (full, unchanged, partial), the 30-day SLI history load (`portolan slo
# import`), the evaluation of every SLO (`portolan slo evaluate`, three runs), and HTTP throughput/latency under wrk
# (catalog, facets, search, JSON API, service pages, a hub's graph, a system, the largest team, /scorecards, the
# service and SLO APIs, and SLI pushes through the events API), for each catalog size and database; prints Markdown
# tables and appends a dated section to docs/benchmarks.md. The whole suite takes about 15 minutes.
#
#   bench/run.sh            # BENCH_SIZES (default "10000 50000") × BENCH_DATABASES (default "sqlite postgres")
#   bench/run.sh --quick    # N=1000, sqlite (and postgres if configured), 3 s per URL; checks the script itself;
#                           # (about 2 minutes)
#                           # prints the tables but does not write docs/benchmarks.md (BENCH_RECORD=1 to write)
#
# Environment:
#   PORTOLAN_BENCH_PG_URL   postgres://user@host:5432/postgres — a server where the script may create databases
#                           portolan_bench_<N>; without it postgres is skipped
#   BENCH_SIZES, BENCH_DATABASES, BENCH_DURATION (seconds per URL, default 10), BENCH_PORT (default 7979)
#   BENCH_MAX_SECONDS       time budget of everything after the build (default 3600; 900 with --quick)
#   BENCH_BUILD_TIMEOUT     bound of `cargo build` (default 3600)
#   BENCH_SKIP_BUILD=1      use the existing target/release/portolan
#   BENCH_BIN               the binary to measure (implies no build), e.g. a copy kept away from other builds
#   BENCH_KEEP=1            keep the temporary folder (catalogs, databases, logs)
#   BENCH_DOC               file to append to (default docs/benchmarks.md)
#
# The binary is run from the temporary folder, so a portolan.toml in the repository is not read.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/portolan}
[[ $BIN == /* ]] || BIN=$REPO/$BIN
GENERATOR=$REPO/bench/generate_catalog.py
WRK_THREADS=2
WRK_CONNECTIONS=16
MODIFIED_FILES=100

WORK=""
SERVER_PID=""
INGEST_ROWS=""
HTTP_ROWS=""
SERVER_ROWS=""
GEN_NOTES=""
SKIPPED_NOTES=""

# The script's own stdout and stderr, kept as fds 3 and 4: commands run inside functions whose output is redirected
# to a log (ingest, wrk), and a trap or an error that fires there must still reach the terminal.
exec 3>&1 4>&2
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&4; }
die() {
    log "error: $*"
    exit 1
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# Runs a command for at most $1 seconds, and never past the overall deadline.
bounded() {
    local limit=$1 remaining
    shift
    remaining=$((DEADLINE - $(date +%s)))
    ((remaining > 0)) || die "the time budget is used up (BENCH_MAX_SECONDS=$MAX_SECONDS)"
    ((limit < remaining)) || limit=$remaining
    timeout --foreground --kill-after=10 "$limit" "$@"
}

as_root() {
    if [[ $(id -u) == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

apt_install() {
    command -v apt-get >/dev/null || return 1
    # apt's output goes to stderr: stdout carries the report.
    as_root apt-get update -qq >&2 &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
kib_to_mib() { awk -v k="$1" 'BEGIN { if (k == "" || k !~ /^[0-9]+$/) print "n/a"; else printf "%.1f", k / 1024 }'; }
bytes_to_mib() { awk -v b="$1" 'BEGIN { if (b == "" || b !~ /^[0-9]+$/) print "n/a"; else printf "%.1f", b / 1048576 }'; }

# wrk --latency output → "requests/s p50_ms p99_ms errors" (n/a where a figure is missing). Latencies come as
# 635.00us, 1.23ms, 1.02s (or m, h); errors are non-2xx/3xx responses plus socket errors.
parse_wrk() {
    awk '
        function ms(v,   n, u) {
            if (!match(v, /^[0-9]+(\.[0-9]+)?/)) return "n/a"
            n = substr(v, 1, RLENGTH) + 0
            u = substr(v, RLENGTH + 1)
            if (u == "us") n = n / 1000
            else if (u == "ms") n = n
            else if (u == "s") n = n * 1000
            else if (u == "m") n = n * 60000
            else if (u == "h") n = n * 3600000
            else return "n/a"
            return sprintf("%.2f", n)
        }
        $1 == "Requests/sec:" { rps = sprintf("%.0f", $2) }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { errors += $NF }
        $1 == "Socket" && $2 == "errors:" {
            for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { v = $i; sub(/,$/, "", v); errors += v }
        }
        END {
            printf "%s %s %s %d\n", (rps == "" ? "n/a" : rps), (p50 == "" ? "n/a" : p50), (p99 == "" ? "n/a" : p99), errors
        }
    ' "$1"
}

# postgres://u@h:5432/postgres?sslmode=x → the same server, database $2.
pg_url_with_db() {
    python3 - "$1" "$2" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
parts = urlsplit(sys.argv[1])
print(urlunsplit((parts.scheme, parts.netloc, "/" + sys.argv[2], parts.query, parts.fragment)))
EOF
}

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "the server did not stop within 10 s; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    exec 1>&3 2>&4
    stop_server
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ ${BENCH_KEEP:-0} == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    if ((status != 0)) && [[ -n $INGEST_ROWS$HTTP_ROWS ]]; then
        log "stopped early (status $status); figures so far (not recorded):"
        tables
    fi
    exit "$status"
}

tables() {
    printf '### Ingest\n\n'
    printf '| N | database | entities | step | wall (s) | peak RSS (MiB) | ingest summary |\n'
    printf '|---:|---|---:|---|---:|---:|---|\n'
    printf '%s' "$INGEST_ROWS"
    printf '\n### HTTP (wrk -t%s -c%s -d%ss --latency, same machine)\n\n' "$WRK_THREADS" "$WRK_CONNECTIONS" "$DURATION"
    printf '| N | database | page | requests/s | p50 (ms) | p99 (ms) | errors | page (kB) |\n'
    printf '|---:|---|---|---:|---:|---:|---:|---:|\n'
    printf '%s' "$HTTP_ROWS"
    printf '\n### Server after the load\n\n'
    printf '| N | database | database size (MiB) | VmHWM (MiB) | VmRSS (MiB) |\n'
    printf '|---:|---|---:|---:|---:|\n'
    printf '%s' "$SERVER_ROWS"
}

# One run of a one-shot command (ingest, history import, SLO evaluation): wall time, peak RSS and the binary's own
# summary line (the last line matching $5).
#   cli_step N DB ENTITIES STEP PATTERN ARGS...
cli_step() {
    local n=$1 db=$2 entities=$3 step=$4 pattern=$5
    shift 5
    local out=$WORK/step-$n-$db-$(printf '%s' "$step" | tr -c 'a-z0-9' '-').log rss_file=$WORK/rss status=0 start end wall rss summary
    log "N=$n $db: $step"
    rm -f "$rss_file"
    start=$(now)
    if [[ -n $TIME_BIN ]]; then
        bounded 1800 "$TIME_BIN" -f %M -o "$rss_file" "$BIN" "$@" >"$out" 2>&1 || status=$?
    else
        bounded 1800 "$BIN" "$@" >"$out" 2>&1 || status=$?
    fi
    end=$(now)
    wall=$(elapsed "$start" "$end")
    rss="n/a"
    if [[ -s $rss_file ]]; then
        rss=$(kib_to_mib "$(tail -n 1 "$rss_file")")
    fi
    summary=$(awk -v p="$pattern" '$0 ~ p { line = $0 } END { gsub(/\|/, "/", line); print substr(line, 1, 200) }' "$out")
    if ((status != 0)); then
        tail -n 20 "$out" >&2
        ((status == 124)) && die "$step timed out (N=$n, $db)"
        die "$step failed with status $status (N=$n, $db); see the lines above"
    fi
    log "  ${wall}s, peak RSS ${rss} MiB: $summary"
    INGEST_ROWS+="| $n | $db | $entities | $step | $wall | $rss | $summary |"$'\n'
}

ingest_step() {
    local n=$1 db=$2 entities=$3 step=$4 url=$5 catalog=$6
    cli_step "$n" "$db" "$entities" "$step" ' added, .* removed; ' ingest --database-url "$url" "$catalog"
}

# One URL under wrk; with a 5th argument, a wrk Lua script (the request is then the script's, e.g. a POST).
load_step() {
    local n=$1 db=$2 page=$3 path=$4 script=${5:-}
    local url="http://$BIND$path" out code rps p50 p99 errors size="" check
    out=$WORK/wrk-$n-$db-$(printf '%s' "$page" | tr -c 'a-z0-9' '-').txt
    if [[ -z $script ]]; then
        check=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -m 30 "$url") || check=${check:-000 0}
        read -r code size <<<"$check"
        size=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1024 }')
        if [[ $code != 2* ]]; then
            log "  $path answers HTTP $code; not loaded"
            HTTP_ROWS+="| $n | $db | $page \`$path\` | HTTP $code | | | | |"$'\n'
            return 0
        fi
    fi
    if ! bounded $((DURATION + 60)) wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${DURATION}s" --latency \
        ${script:+-s "$script"} "$url" >"$out" 2>&1; then
        tail -n 5 "$out" >&2
        log "  wrk failed on $path"
        HTTP_ROWS+="| $n | $db | $page \`$path\` | wrk failed | | | | |"$'\n'
        return 0
    fi
    read -r rps p50 p99 errors < <(parse_wrk "$out")
    log "  $path: $rps req/s, p50 $p50 ms, p99 $p99 ms, $errors errors, ${size:-?} kB"
    HTTP_ROWS+="| $n | $db | $page \`$path\` | $rps | $p50 | $p99 | $errors | ${size:-POST} |"$'\n'
}

wait_ready() {
    local deadline=$(($(date +%s) + 60))
    until curl -sf -m 2 -o /dev/null "http://$BIND/readyz"; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 30 "$1" >&2
            die "the server exited before it was ready; see the lines above"
        fi
        if (($(date +%s) >= deadline)); then
            tail -n 30 "$1" >&2
            die "the server was not ready within 60 s (http://$BIND/readyz)"
        fi
        sleep 0.25
    done
}

database_size() {
    local db=$1 url=$2 path
    if [[ $db == sqlite ]]; then
        path=${url#sqlite://}
        # The database file and its write-ahead log, if any.
        local bytes=0 f
        for f in "$path" "$path-wal"; do
            [[ ! -f $f ]] || bytes=$((bytes + $(stat -c %s "$f")))
        done
        echo "$bytes"
    else
        psql "$url" -Atqc 'SELECT pg_database_size(current_database())' 2>/dev/null || true
    fi
}

bench_one() {
    local n=$1 db=$2 catalog=$3 entities=$4 url dbname pg_log server_log hwm rss size token
    case $db in
        sqlite)
            rm -f "$WORK/bench-$n.db" "$WORK/bench-$n.db-wal" "$WORK/bench-$n.db-shm"
            url="sqlite://$WORK/bench-$n.db"
            ;;
        postgres)
            dbname=portolan_bench_$n
            pg_log=$WORK/psql-$n.log
            bounded 120 psql "$PORTOLAN_BENCH_PG_URL" -v ON_ERROR_STOP=1 -q \
                -c "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname" >"$pg_log" 2>&1 ||
                {
                    cat "$pg_log" >&2
                    die "cannot create database $dbname"
                }
            url=$(pg_url_with_db "$PORTOLAN_BENCH_PG_URL" "$dbname")
            ;;
        *) die "unknown database $db (sqlite or postgres)" ;;
    esac

    ingest_step "$n" "$db" "$entities" "full ingest" "$url" "$catalog"
    ingest_step "$n" "$db" "$entities" "unchanged refresh" "$url" "$catalog"
    bounded 300 python3 "$GENERATOR" --modify "$MODIFIED_FILES" --out "$(dirname "$catalog")" >/dev/null
    ingest_step "$n" "$db" "$entities" "partial refresh ($MODIFIED_FILES files changed)" "$url" "$catalog"
    cli_step "$n" "$db" "$entities" "SLI history load (30 days, \`slo import\`)" '^imported ' \
        slo import --database-url "$url" "$(dirname "$catalog")/sli-history.jsonl"
    local run
    for run in 1 2 3; do
        cli_step "$n" "$db" "$entities" "every SLO evaluated (\`slo evaluate\`, run $run)" '^evaluated ' \
            slo evaluate --database-url "$url"
    done
    size=$(bytes_to_mib "$(database_size "$db" "$url")")
    token=$("$BIN" token create --database-url "$url" --name "bench-$n-$db" --team "${INFO[sample_slo_owner]}" 2>/dev/null) ||
        die "cannot create an API token"

    server_log=$WORK/serve-$n-$db.log
    log "N=$n $db: serving on $BIND"
    # The per-address limit of token-authenticated API calls (600 a minute by default) is lifted: the push row
    # measures the events API itself, from one address.
    PORTOLAN_TOKEN_RATE_PER_MINUTE=100000000 "$BIN" serve --database-url "$url" --bind "$BIND" >"$server_log" 2>&1 3>&- 4>&- &
    SERVER_PID=$!
    wait_ready "$server_log"
    load_step "$n" "$db" "catalog" "/catalog"
    load_step "$n" "$db" "facets" "/catalog?kind=component&lifecycle=production"
    load_step "$n" "$db" "search" "/catalog?q=payments"
    load_step "$n" "$db" "JSON API" "/api/v1/entities?kind=component&limit=50"
    load_step "$n" "$db" "service page" "/catalog/default/component/${INFO[sample_component]}"
    load_step "$n" "$db" "service page with SLOs" "/catalog/default/component/${INFO[sample_slo_component]}"
    load_step "$n" "$db" "hub service (widest graph)" "/catalog/default/component/${INFO[hub_component]}"
    load_step "$n" "$db" "system with most components" "/catalog/default/system/${INFO[largest_system]}"
    load_step "$n" "$db" "largest team" "/teams/${INFO[largest_team]}"
    load_step "$n" "$db" "scorecards" "/scorecards"
    load_step "$n" "$db" "service overview API" "/api/v1/services/default/${INFO[sample_slo_component]}"
    load_step "$n" "$db" "SLO API" "/api/v1/slos/default/${INFO[sample_slo]}"
    BENCH_TOKEN=$token load_step "$n" "$db" "SLI push (60 samples per call)" \
        "/api/v1/slos/default/${INFO[sample_slo]}/events" "$REPO/bench/push.lua"
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || true)
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || true)
    stop_server
    SERVER_ROWS+="| $n | $db | $size | $(kib_to_mib "$hwm") | $(kib_to_mib "$rss") |"$'\n'
}

main() {
    local quick=0
    while (($#)); do
        case $1 in
            --quick) quick=1 ;;
            -h | --help)
                usage
                exit 0
                ;;
            *)
                usage >&2
                exit 2
                ;;
        esac
        shift
    done

    local sizes databases record
    if ((quick)); then
        sizes=1000
        DURATION=3
        MAX_SECONDS=${BENCH_MAX_SECONDS:-900}
        record=${BENCH_RECORD:-0}
    else
        sizes=${BENCH_SIZES:-10000 50000}
        DURATION=${BENCH_DURATION:-10}
        MAX_SECONDS=${BENCH_MAX_SECONDS:-3600}
        record=${BENCH_RECORD:-1}
    fi
    databases=${BENCH_DATABASES:-sqlite postgres}
    BIND=127.0.0.1:${BENCH_PORT:-7979}
    local doc=${BENCH_DOC:-$REPO/docs/benchmarks.md}
    [[ $DURATION =~ ^[0-9]+$ && $MAX_SECONDS =~ ^[0-9]+$ ]] || die "BENCH_DURATION and BENCH_MAX_SECONDS are whole seconds"
    local n
    for n in $sizes; do
        [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES: \`$n\` is not a positive number"
    done

    # Settings the portal would read from the environment and that would change what is measured.
    unset PORTOLAN_LOCATIONS PORTOLAN_DEMO PORTOLAN_BIND PORTOLAN_DATABASE_URL

    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    command -v python3 >/dev/null || die "python3 is required (bench/generate_catalog.py)"
    command -v curl >/dev/null || die "curl is required"
    command -v timeout >/dev/null || die "timeout (coreutils) is required"

    # Build.
    if [[ ${BENCH_SKIP_BUILD:-0} == 1 || -n ${BENCH_BIN:-} ]]; then
        log "using the existing $BIN (BENCH_SKIP_BUILD=1)"
    else
        log "building: cargo build --release -p portolan"
        (cd "$REPO" && timeout --kill-after=30 "${BENCH_BUILD_TIMEOUT:-3600}" cargo build --release -p portolan) ||
            die "cargo build failed or took longer than ${BENCH_BUILD_TIMEOUT:-3600} s"
    fi
    [[ -x $BIN ]] || die "$BIN is missing"

    # Tools.
    command -v wrk >/dev/null || apt_install wrk || die "wrk is missing and could not be installed"
    TIME_BIN=""
    if [[ -x /usr/bin/time ]] || apt_install time; then
        [[ -x /usr/bin/time ]] && TIME_BIN=/usr/bin/time
    fi
    [[ -n $TIME_BIN ]] || log "/usr/bin/time is unavailable: ingest peak RSS is not measured"

    local -a dbs=()
    local db
    for db in $databases; do
        case $db in
            sqlite) dbs+=(sqlite) ;;
            postgres)
                if [[ -z ${PORTOLAN_BENCH_PG_URL:-} ]]; then
                    SKIPPED_NOTES="PostgreSQL skipped: PORTOLAN_BENCH_PG_URL is not set"
                    log "postgres skipped: PORTOLAN_BENCH_PG_URL is not set"
                elif ! command -v psql >/dev/null; then
                    die "psql is required for postgres (apt-get install postgresql-client)"
                else
                    dbs+=(postgres)
                fi
                ;;
            *) die "BENCH_DATABASES: unknown database \`$db\` (sqlite or postgres)" ;;
        esac
    done
    ((${#dbs[@]})) || die "no database to measure"

    if curl -s -m 2 -o /dev/null "http://$BIND/readyz"; then
        die "something already answers on $BIND; set BENCH_PORT"
    fi

    DEADLINE=$(($(date +%s) + MAX_SECONDS))
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/portolan-bench.XXXXXX")
    # Run from the scratch folder: no portolan.toml is read, and .portolan/ lands here.
    cd "$WORK"

    local catalog start gen entities key value
    for n in $sizes; do
        catalog=$WORK/catalog-$n
        log "N=$n: generating the catalog"
        start=$(now)
        bounded 600 python3 "$GENERATOR" --services "$n" --out "$catalog" --seed 42 >"$WORK/generate-$n.log" ||
            die "the generator failed: $(tail -n 5 "$WORK/generate-$n.log")"
        gen=$(elapsed "$start" "$(now)")
        declare -gA INFO=()
        while read -r key value; do
            INFO[$key]=$value
        done < <(python3 -c 'import json, sys
info = json.load(open(sys.argv[1]))
for key in ("entities", "sample_component", "sample_slo_component", "hub_component", "largest_system",
            "largest_team", "sample_slo", "sample_slo_owner"):
    print(key, info[key])
print("slos", info["other"]["SLO"])
print("history_values", info["history"]["values"])' "$catalog/.portolan-bench.json") ||
            die "cannot read $catalog/.portolan-bench.json"
        entities=${INFO[entities]}
        log "  $entities entities, ${INFO[slos]} SLOs in ${gen}s"
        GEN_NOTES+="${GEN_NOTES:+; }N=$n: $entities entities, ${INFO[slos]} SLOs, ${INFO[history_values]} SLI counts (generated in ${gen}s)"
        for db in "${dbs[@]}"; do
            bench_one "$n" "$db" "$catalog/all.yaml" "$entities"
        done
        rm -rf "$catalog"
    done

    # Report.
    local commit cpu mem kernel report
    commit=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    if [[ $commit != unknown && -n $(git -C "$REPO" status --porcelain 2>/dev/null) ]]; then
        commit+=" (with uncommitted changes)"
    fi
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
    [[ -n $cpu ]] || cpu=$(uname -m)
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo unknown)
    kernel=$(uname -r)
    # Backticks below are Markdown code spans, not command substitutions.
    # shellcheck disable=SC2016
    report=$(
        printf '## %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
        printf -- '- commit: `%s`\n' "$commit"
        printf -- '- machine: %s CPUs (nproc), %s memory, %s, Linux %s\n' "$(nproc)" "$mem" "$cpu" "$kernel"
        printf -- '- catalogs: `bench/generate_catalog.py --seed 42`; %s\n' "$GEN_NOTES"
        printf -- '- partial refresh: %s component files rewritten with `--modify %s`\n' "$MODIFIED_FILES" "$MODIFIED_FILES"
        [[ -z $SKIPPED_NOTES ]] || printf -- '- %s\n' "$SKIPPED_NOTES"
        ((quick == 0)) || printf -- '- `--quick` run\n'
        printf '\n'
        tables
    )
    printf '\n%s\n' "$report"
    if [[ $record == 1 ]]; then
        mkdir -p "$(dirname "$doc")"
        if [[ ! -s $doc ]]; then
            cat >"$doc" <<'EOF'
# Benchmarks

Figures measured by `bench/run.sh` on the machine named in each section, newest last. wrk runs on the same machine
as the server, so HTTP figures include its share of the CPU. Wall times include process start and migrations.
EOF
        fi
        printf '\n%s\n' "$report" >>"$doc"
        log "appended to $doc"
    else
        log "not recorded in $doc (BENCH_RECORD=$record; BENCH_RECORD=1 records it)"
    fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
