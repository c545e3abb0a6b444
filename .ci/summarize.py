"""Counts test results for .ci/run and prints its closing line.

usage: summarize.py RESULTS_DIR SUITES_TSV
SUITES_TSV has one line per suite run: name, exit code, glob of its result files (relative to RESULTS_DIR).
.NET suites write TRX (the ResultSummary/Counters element is read); every other suite writes JUnit XML
(each leaf <testsuite>: its <testcase> elements, or its tests/failures/errors/skipped attributes).
A suite that exited non-zero without a failing test in its results counts as one failure; result files no
suite announced are counted too. Exit code 1 on any failure or when no test ran.
"""
import glob, os, sys
import xml.etree.ElementTree as ET

results, suites_file = sys.argv[1], sys.argv[2]
TRX = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"

def trx(path):
    c = ET.parse(path).getroot().find(f"{TRX}ResultSummary/{TRX}Counters")
    if c is None:
        return 0, 0, 0
    n = lambda k: int(c.get(k, 0))
    passed = n("passed")
    failed = n("failed") + n("error") + n("timeout") + n("aborted")
    return passed, failed, max(n("total") - passed - failed, 0)

def junit(path):
    root = ET.parse(path).getroot()
    if root.tag not in ("testsuite", "testsuites"):
        return None  # some other XML (e.g. a collector's attachment), not test results
    leaves = [s for s in root.iter("testsuite") if s.find("testsuite") is None]
    p = f = s = 0
    for suite in leaves:
        cases = suite.findall("testcase")
        if cases:
            for case in cases:
                if case.find("failure") is not None or case.find("error") is not None: f += 1
                elif case.find("skipped") is not None: s += 1
                else: p += 1
        else:
            n = lambda k: int(suite.get(k, 0) or 0)
            fs, sk = n("failures") + n("errors"), n("skipped") + n("disabled")
            f, s, p = f + fs, s + sk, p + max(n("tests") - fs - sk, 0)
    return p, f, s

def count(path):
    try:
        return trx(path) if path.endswith(".trx") else junit(path)
    except ET.ParseError as e:
        print(f"    {os.path.relpath(path, results)}: unreadable ({e}); counted as 1 failed")
        return 0, 1, 0

passed = failed = skipped = 0
seen = set()
for line in open(suites_file, encoding="utf-8"):
    name, code, pattern = line.rstrip("\n").split("\t")
    files = sorted(glob.glob(os.path.join(results, pattern)))
    p = f = s = 0
    for path in files:
        seen.add(os.path.abspath(path))
        a, b, c = count(path) or (0, 0, 0)
        p, f, s = p + a, f + b, s + c
    if int(code) != 0 and f == 0:
        # A crashed or aborted suite must not pass silently: it counts as one failure.
        print(f"    {name}: exited {code} without a failing test in its results; counted as 1 failed")
        f = 1
    print(f"    {name}: {p} passed, {f} failed" + (f", {s} skipped" if s else ""))
    passed, failed, skipped = passed + p, failed + f, skipped + s

# Result files no suite claimed (a suite writing more than announced) still count.
for path in sorted(glob.glob(os.path.join(results, "**", "*.trx"), recursive=True) +
                   glob.glob(os.path.join(results, "**", "*.xml"), recursive=True)):
    if os.path.abspath(path) not in seen and (found := count(path)) is not None:
        a, b, c = found
        print(f"    {os.path.relpath(path, results)}: {a} passed, {b} failed" + (f", {c} skipped" if c else ""))
        passed, failed, skipped = passed + a, failed + b, skipped + c

print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed + failed == 0 else 0)
