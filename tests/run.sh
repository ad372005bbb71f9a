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
        for w in build/it build-asan/it; do
            tests/env/nginx.sh stop --dir "$w/$f/nginx" >/dev/null 2>&1
        done
        tests/env/mailenv.sh stop --dir "tests/env/run/it-$f" >/dev/null 2>&1
    done
    tests/env/mailenv.sh stop --dir tests/env/run/e2e >/dev/null 2>&1
    tests/env/mailenv.sh stop --dir build/bench-smoke/mail >/dev/null 2>&1
    tests/env/nginx.sh stop --dir build/bench-smoke/nginx >/dev/null 2>&1
    # only this checkout's: other checkouts may be running their own suites
    pkill -f "$PWD/build(-asan)?/it/[a-z]*/([a-z-]*-)?postern.conf|$PWD/build/e2e/postern.conf|$PWD/build/bench-smoke/postern(-mem)?.conf" 2>/dev/null
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

# Sanitized runs (make asan): any ASan, LSan or UBSan report fails the run.
# UBSan halts on the first report; LSan's exit status fails a leaking test
# program. tests/sanitizers/lsan.supp lists the one-time allocations of
# GLib and GMime that LSan cannot tell from leaks, each with its reason.
san_markers='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
san_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
         LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
         UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)

run_san_suite() {
    local suite=$1
    shift
    local out="$log_dir/${suite//\//_}.log" rc
    env "${san_env[@]}" "$@" >"$out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && grep -qE "$san_markers" "$out"; then
        # a report the program survived
        failures+=("$suite: sanitizer report (see $out)")
        failed=$((failed + 1))
    fi
    count_tap "$suite" "$out" "$rc"
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

echo "== unit, sanitized (build-asan)"
for t in build-asan/tests/test_*; do
    [ -x "$t" ] || continue
    CMOCKA_MESSAGE_OUTPUT=TAP run_san_suite "asan/unit/$(basename "$t")" "$t"
done

echo "== integration, sanitized (build-asan/postern)"
# Every postern the suite starts writes its reports to files in san_dir;
# run.py fails one more test if any is there (or in a postern log).
san_dir=$PWD/build-asan/sanitizer-reports
run_asan_integration() {
    local suite=$1
    shift
    rm -rf "$san_dir" && mkdir -p "$san_dir"
    POSTERN_IT_BIN=build-asan/postern POSTERN_IT_WORK=build-asan/it \
        POSTERN_IT_SAN_DIR="$san_dir" \
        run_san_suite "$suite" \
        env ASAN_OPTIONS=detect_leaks=1:log_path="$san_dir/asan" \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path="$san_dir/ubsan" \
        python3 tests/integration/run.py "$@"
}
run_asan_integration asan/integration
for flavor in minimal prefix; do
    POSTERN_IT_FLAVOR=$flavor run_asan_integration "asan/integration/$flavor" \
        "test_[iw][mr]*.py"
done

echo "== fuzz (20 s each, build-fuzz)"
run_suite fuzz tests/fuzz/run.sh --seconds 20

echo "== e2e"
# real chromium, desktop and phone, JavaScript on and off (tests/e2e/run.js)
run_suite e2e node tests/e2e/run.js

echo "== bench smoke"
# make bench's run, seconds long: every request succeeds and the table is
# written; nothing about time is asserted (tests/bench/README.md)
run_suite bench-smoke python3 tests/bench/run.py --smoke

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
