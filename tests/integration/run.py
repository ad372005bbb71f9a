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
    print(f"1..{result.n}")
    bad = len(result.failures) + len(result.errors) + len(result.skipped)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
