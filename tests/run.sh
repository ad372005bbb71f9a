#!/usr/bin/env bash
# run.sh - runs every test suite (lint, unit, integration, e2e) and ends with the
# line "N passed, N failed". Called by `make check`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
skipped=0
failures=()
log_dir=build/test-logs
mkdir -p "$log_dir"

# The integration runner stops what it starts; if it is killed, this does.
stop_leftovers() {
    for f in default minimal prefix; do
        tests/env/nginx.sh stop --dir "build/it/$f/nginx" >/dev/null 2>&1
        tests/env/mailenv.sh stop --dir "tests/env/run/it-$f" >/dev/null 2>&1
    done
    tests/env/mailenv.sh stop --dir tests/env/run/e2e >/dev/null 2>&1
    # only this checkout's: other checkouts may be running their own suites
    pkill -f "$PWD/build/(it/[a-z]*|e2e)/postern.conf" 2>/dev/null
    return 0
}
trap stop_leftovers EXIT INT TERM

# Counts TAP lines ("ok N - name", "not ok N - name") from a suite's output.
count_tap() {
    local suite=$1 out=$2 rc=$3 p f s
    # cmocka writes a skipped test as "not ok N # SKIP": a skip, not a failure
    s=$(grep -cE '^(not )?ok [0-9]+.*# ?[Ss][Kk][Ii][Pp]' "$out" | tr -d ' ')
    p=$(grep -E '^ok [0-9]+' "$out" | grep -cvE '# ?[Ss][Kk][Ii][Pp]' | tr -d ' ')
    f=$(grep -E '^not ok [0-9]+' "$out" | grep -cvE '# ?[Ss][Kk][Ii][Pp]' | tr -d ' ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # the suite died before reporting: that is a failure too
        f=1
        failures+=("$suite (exit $rc before reporting; see $out)")
    fi
    while IFS= read -r line; do failures+=("$suite: $line"); done \
        < <(grep -E '^not ok [0-9]+' "$out" | grep -vE '# ?[Ss][Kk][Ii][Pp]')
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    printf '%-32s %3d passed, %d failed%s\n' "$suite" "$p" "$f" \
        "$([ "$s" -gt 0 ] && echo ", $s skipped")"
}

run_suite() {
    local suite=$1
    shift
    local out="$log_dir/${suite//\//_}.log"
    "$@" >"$out" 2>&1
    count_tap "$suite" "$out" $?
}


echo "== lint"
run_suite lint tests/lint/layers.sh --tap

echo "== unit"
for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit/$(basename "$t")" "$t"
done

echo "== integration"
run_suite integration python3 tests/integration/run.py
# The IMAP suite again against servers that offer less (DESIGN §5).
for flavor in minimal prefix; do
    POSTERN_IT_FLAVOR=$flavor run_suite "integration/$flavor" \
        python3 tests/integration/run.py "test_[iw][mr]*.py"
done

echo "== e2e"
# real chromium, desktop and phone, JavaScript on and off (tests/e2e/run.js)
run_suite e2e node tests/e2e/run.js

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failures (logs in $log_dir/):"
    printf '  %s\n' "${failures[@]}"
    echo
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
