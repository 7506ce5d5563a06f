#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS, starting from the committed seeds (fuzz/seeds/<target>/,
# copied into a scratch corpus, fuzz/corpus/<target>/). Exits non-zero when any target finds a crash, a failed
# invariant, a timeout or an out-of-memory, after printing where the input that did it was written.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Environment:
#   FUZZ_SANITIZER    address (default) or none
#   FUZZ_KEEP_CORPUS  1 to keep what earlier runs added to fuzz/corpus/<target>/ instead of starting from the seeds
#   FUZZ_JOBS         cargo build jobs (default: cargo's)
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer, sanitizer coverage options); on a stable toolchain this
# script sets RUSTC_BOOTSTRAP=1 so that stable rustc accepts them. See docs/fuzzing.md.
set -euo pipefail

usage() {
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
}

[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
seconds=$1
shift

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$fuzz_dir")
cd "$root"

all_targets=(descriptor openslo scorecard template_render api_bodies)
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi
for target in "${targets[@]}"; do
    [[ -f $fuzz_dir/fuzz_targets/$target.rs ]] || { echo "no fuzz target $target" >&2; exit 2; }
done

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --version 0.13.2 --locked" >&2
    exit 2
fi
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
if [[ -n ${FUZZ_JOBS:-} ]]; then
    export CARGO_BUILD_JOBS=$FUZZ_JOBS
fi

sanitizer=${FUZZ_SANITIZER:-address}
# Release build with debug assertions and overflow checks, as the targets' invariants expect.
build_flags=(--release --debug-assertions --sanitizer "$sanitizer")

started=$(date +%s)
echo "== building the fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build "${build_flags[@]}"
echo "== built in $(($(date +%s) - started)) s"

# The descriptor target makes a scratch catalog location under TMPDIR; keep it out of /tmp and remove it after.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

failed=()
summary=()
for target in "${targets[@]}"; do
    corpus=$fuzz_dir/corpus/$target
    artifacts=$fuzz_dir/artifacts/$target
    if [[ ${FUZZ_KEEP_CORPUS:-0} != 1 ]]; then
        rm -rf "$corpus"
    fi
    mkdir -p "$corpus" "$artifacts"
    cp "$fuzz_dir/seeds/$target"/* "$corpus"/
    before=$(find "$artifacts" -type f | sort)
    log=$scratch/$target.log
    echo "== $target: ${seconds} s from $(find "$corpus" -type f | wc -l) inputs"
    status=0
    # -timeout: one input taking this long is a hang; -rss_limit_mb: a YAML bomb or a runaway render is a failure.
    cargo fuzz run "${build_flags[@]}" "$target" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    size=$(find "$corpus" -type f | wc -l)
    summary+=("$(printf '%-16s %10s execs %8s exec/s %6s corpus' "$target" "${execs:-?}" "${rate:-?}" "$size")")
    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        echo "!! $target failed (exit $status); the end of its log:"
        tail -n 60 "$log"
        new=$(comm -13 <(echo "$before") <(find "$artifacts" -type f | sort) | sed '/^$/d')
        if [[ -n $new ]]; then
            echo "!! the input(s) that did it:"
            while read -r artifact; do
                echo "   $artifact"
                echo "   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run ${build_flags[*]} $target $artifact"
            done <<<"$new"
        fi
    fi
done

echo "== summary (${seconds} s per target, $(($(date +%s) - started)) s in all)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "!! failed: ${failed[*]}" >&2
    exit 1
fi
echo "== no crash"
