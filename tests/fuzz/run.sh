#!/usr/bin/env bash
# run.sh - runs every libFuzzer harness of build-fuzz (make fuzz-build) for
# a set time, two at a time, after replaying its regression inputs; prints
# one TAP line per harness. Usage: tests/fuzz/run.sh [--seconds N] [NAME...]
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=20
names=()
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    *) names+=("$1"); shift ;;
    esac
done
bin_dir=build-fuzz/fuzz
work=build-fuzz/run
if [ ${#names[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        names+=("${n#fuzz_}")
    done
fi
mkdir -p "$work"

# One harness: replay tests/fuzz/regressions/NAME/* (each must pass), then
# fuzz for $seconds from the committed seeds plus what earlier runs found
# (build-fuzz/run/NAME/corpus: the committed corpus is never written).
# A crash leaves its input in build-fuzz/run/NAME/ as crash-* (or leak-*,
# timeout-*, oom-*); the log is build-fuzz/run/NAME.log.
fuzz_one() {
    local name=$1 bin=$bin_dir/fuzz_$1 log=$work/$1.log
    local dir=$work/$1 dict=tests/fuzz/$1.dict reg=tests/fuzz/regressions/$1
    local args=(-rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1)
    mkdir -p "$dir/corpus"
    [ -f "$dict" ] && args+=("-dict=$dict")
    : >"$log"
    if [ ! -x "$bin" ]; then
        echo "$bin missing: run make fuzz-build" >>"$log"
        return 1
    fi
    if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
        echo "== replaying $reg" >>"$log"
        "$bin" "${args[@]}" "$reg"/* >>"$log" 2>&1 || return 1
    fi
    echo "== fuzzing for ${seconds}s" >>"$log"
    "$bin" "${args[@]}" -max_total_time="$seconds" \
        -artifact_prefix="$dir/" "$dir/corpus" "tests/fuzz/corpus/$1" \
        >>"$log" 2>&1
}

# Two at a time (2 cores); results are printed in order.
n=0
declare -A rc
pids=()
for name in "${names[@]}"; do
    fuzz_one "$name" &
    pids+=("$!:$name")
    if [ ${#pids[@]} -ge 2 ]; then
        p=${pids[0]}
        wait "${p%%:*}"; rc[${p#*:}]=$?
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do
    wait "${p%%:*}"; rc[${p#*:}]=$?
done
for name in "${names[@]}"; do
    n=$((n + 1))
    if [ "${rc[$name]}" -eq 0 ]; then
        echo "ok $n - fuzz_$name: ${seconds}s, no crash"
    else
        echo "not ok $n - fuzz_$name (log: $work/$name.log)"
        grep -E 'ERROR|runtime error|assertion failed|Test unit written' \
            "$work/$name.log" | head -5 | sed 's/^/#   /'
    fi
done
echo "1..$n"
