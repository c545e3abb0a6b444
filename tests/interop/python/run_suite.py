"""The runner of the Python suite: plain unittest, a JUnit XML report, a watchdog, and an exit that does not
wait for grpcio's threads (annotate_suite.py is the entry point).

run_main prints unittest's verbose progress, then one closing line "<label>: N passed, N failed, N skipped";
its exit code is 1 when anything failed or errored (and when no test ran at all).
"""

import argparse
import atexit
import faulthandler
import os
import sys
import time
import traceback
import unittest
from xml.etree import ElementTree as ET

class RecordingResult(unittest.TextTestResult):
    """Keeps every test's outcome and duration; a test with a failed subtest fails."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = {}
        self._started = {}

    def _record(self, test, outcome, detail=None):
        key = test.id()
        previous = self.records.get(key)
        # A failure or error of any subtest wins over the test's own success.
        if previous and previous["outcome"] in ("failure", "error") and outcome == "passed":
            return
        duration = time.monotonic() - self._started.get(key, time.monotonic())
        self.records[key] = {"test": test, "outcome": outcome, "detail": detail, "time": duration}

    def startTest(self, test):
        self._started[test.id()] = time.monotonic()
        super().startTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        # Errors in setUpClass arrive with a _ErrorHolder, not a test case.
        self._record(test, "error", self._exc_info_to_string(err, test) if isinstance(test, unittest.TestCase) else "".join(traceback.format_exception(*err)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            outcome = "failure" if issubclass(err[0], test.failureException) else "error"
            self._record(test, outcome, f"{subtest.id()}\n" + self._exc_info_to_string(err, test))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")


def write_junit(path, records, elapsed, label):
    counts = {k: sum(1 for r in records.values() if r["outcome"] == k) for k in ("passed", "failure", "error", "skipped")}
    suite = ET.Element("testsuite", {
        "name": f"interop-{label}",
        "tests": str(len(records)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": f"{elapsed:.3f}",
    })
    for key, record in sorted(records.items()):
        classname, _, name = key.rpartition(".")
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": name, "time": f"{record['time']:.3f}"})
        if record["outcome"] in ("failure", "error"):
            first_line = (record["detail"] or "").strip().splitlines()[-1:] or [""]
            element = ET.SubElement(case, record["outcome"], {"message": first_line[0][:500]})
            element.text = record["detail"]
        elif record["outcome"] == "skipped":
            ET.SubElement(case, "skipped", {"message": record["detail"] or ""})
    root = ET.Element("testsuites", {
        "tests": suite.get("tests"), "failures": suite.get("failures"), "errors": suite.get("errors"), "skipped": suite.get("skipped")})
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return counts


def run_main(default_label, load):
    """Parses --junit/--label/-k, runs the suite that load(loader) returns, writes the report, prints the closing line.

    Returns the exit code: 1 when anything failed or errored, and when no test ran at all.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--junit", help="write a JUnit XML report here")
    parser.add_argument("--label", default=default_label, help="name of the closing line and of the JUnit suite")
    parser.add_argument("-k", dest="patterns", action="append", help="only tests whose name contains this (unittest -k)")
    args = parser.parse_args()

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [f"*{p}*" for p in args.patterns]
    started = time.monotonic()
    try:
        suite = load(loader)
    except Exception:  # noqa: BLE001 - a broken import must still produce a report
        traceback.print_exc()
        suite = unittest.TestSuite()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=RecordingResult)
    result = runner.run(suite)
    elapsed = time.monotonic() - started

    # Import errors surface as loader errors: count them as failed tests.
    for error in loader.errors:
        result.records[f"loader.error{len(result.records)}"] = {"test": None, "outcome": "error", "detail": error, "time": 0.0}
    counts = {k: sum(1 for r in result.records.values() if r["outcome"] == k) for k in ("passed", "failure", "error", "skipped")}
    if args.junit:
        write_junit(args.junit, result.records, elapsed, args.label)
    failed = counts["failure"] + counts["error"]
    print(f"{args.label}: {counts['passed']} passed, {failed} failed, {counts['skipped']} skipped")
    return 0 if failed == 0 and counts["passed"] > 0 else 1


# Channels a test class is done with. They are kept open, not closed, until the process ends (run_guarded
# ends it with os._exit once the report is written): closing a channel, or letting the garbage collector
# close it, runs grpcio's teardown, whose rare deadlocks with its own threads (grpc/grpc#17001, #42247)
# would hang a suite after its tests have passed.
_RETIRED = []


def retire(channel):
    _RETIRED.append(channel)


def run_guarded(main, default_timeout=300):
    """Runs a suite's main with a watchdog and ends the process without waiting for gRPC's threads.

    A suite still running after INTEROP_SUITE_TIMEOUT seconds (default 300) prints every thread's stack
    and exits non-zero, so a hang shows where it is instead of stalling CI. When main returns, the
    exit handlers run and the process ends at once: grpcio's background threads can otherwise keep
    the interpreter from exiting after the report is written.
    """
    faulthandler.dump_traceback_later(int(os.environ.get("INTEROP_SUITE_TIMEOUT", default_timeout)), exit=True)
    code = main()
    faulthandler.cancel_dump_traceback_later()
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)

