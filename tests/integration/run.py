"""run.py - the integration suite: starts the environment of harness.py,
runs every tests/integration/test_*.py with unittest, prints TAP, stops
everything (also on failure or Ctrl-C), exits non-zero on any failure."""

import os
import sys
import traceback
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, note=""):
        self.n += 1
        name = test.id().replace("test_", "", 1)
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}{note}",
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def _fail(self, test, err, kind):
        self._line(False, test)
        for line in self._exc_info_to_string(err, test).splitlines():
            print(f"#   {line}")
        print(f"#   ({kind})", flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err, "failure")

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err, "error")

    def addSkip(self, test, reason):
        # A test that cannot run fails: nothing here may skip itself.
        super().addSkip(test, reason)
        self._line(False, test, f" (skipped: {reason})")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    pattern = sys.argv[1] if len(sys.argv) > 1 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(here, pattern=pattern)
    result = TapResult()
    try:
        harness.ENV.start()
    except Exception:
        print("not ok 1 - environment starts")
        for line in traceback.format_exc().splitlines():
            print(f"#   {line}")
        harness.ENV.stop()
        return 1
    try:
        suite.run(result)
    finally:
        harness.ENV.stop()
    bad = len(result.failures) + len(result.errors) + len(result.skipped)
    san_dir = os.environ.get("POSTERN_IT_SAN_DIR")
    if san_dir:
        bad += sanitizer_reports(san_dir, result.n + 1)
        result.n += 1
    print(f"1..{result.n}")
    return 1 if bad else 0


# Markers of a report from ASan, LSan or UBSan in a process's output.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


def sanitizer_reports(san_dir, n):
    """One more test for a sanitized postern: every postern the suite ran
    (serve, fcgi, CGI runs, short-lived servers) wrote its ASan/UBSan
    reports to files under san_dir (log_path in ASAN_OPTIONS and
    UBSAN_OPTIONS), and its output is in the harness's logs under WORK.
    Any report fails the run. Returns 1 on a report, else 0."""
    found = []
    paths = [os.path.join(san_dir, f) for f in sorted(os.listdir(san_dir))]
    for dirpath, _, files in os.walk(harness.WORK):
        paths += [os.path.join(dirpath, f) for f in sorted(files)
                  if f.endswith(".log")]
    for path in paths:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if path.startswith(san_dir) or any(m in text
                                           for m in SANITIZER_MARKERS):
            found.append((path, text))
    name = "sanitizers report nothing in any postern process"
    if not found:
        print(f"ok {n} - {name}", flush=True)
        return 0
    print(f"not ok {n} - {name}", flush=True)
    for path, text in found:
        print(f"#   {path}:")
        for line in text.splitlines()[:40]:
            print(f"#     {line}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
