#!/usr/bin/env python3
"""Reads the Surefire and Failsafe XML reports a `mvn verify` wrote (only those newer than a marker
file, so reports of earlier runs do not count), prints how many tests ran, failed and were skipped,
names each failed test with the first lines of its message (CI keeps only the end of the output),
and exits 1 when a test was skipped that deploy/test-skips-allowed.txt does not list with a reason.

usage: test-reports.py <marker-file> <allow-list> <report-dir>...
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET


def main(marker, allow_list, dirs):
    since = os.stat(marker).st_mtime
    allowed = {}
    with open(allow_list, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                if not reason.strip():
                    print(f"test-reports: {allow_list}: {name} has no reason", file=sys.stderr)
                    return 1
                allowed[name] = reason.strip()
    ran = 0
    failed = []
    skipped = []
    for d in dirs:
        for report in sorted(glob.glob(os.path.join(d, "TEST-*.xml"))):
            if os.stat(report).st_mtime < since:
                continue
            for case in ET.parse(report).getroot().iter("testcase"):
                ran += 1
                name = f"{case.get('classname')}#{case.get('name')}"
                if case.find("skipped") is not None:
                    skipped.append(name)
                else:
                    problem = case.find("failure")
                    problem = problem if problem is not None else case.find("error")
                    if problem is not None:
                        message = (problem.get("message") or problem.get("type") or "").strip()
                        # AssertJ's first line is often only the .as() text: three lines say more.
                        lines = [l.strip() for l in message.splitlines() if l.strip()][:3]
                        first = " | ".join(lines) if lines else "(no message)"
                        failed.append(f"{name} ({os.path.basename(d.rstrip('/'))}): {first[:800]}")
    refused = [n for n in skipped if n not in allowed and n.split("(")[0] not in allowed]
    print(f"test-reports: {ran} tests ran, {len(failed)} failed, {len(skipped)} skipped"
          f" ({len(skipped) - len(refused)} of them allowed by {os.path.basename(allow_list)})")
    for f in failed:
        print(f"test-reports: failed: {f}")
    for n in refused:
        print(f"test-reports: skipped, and not allowed to be: {n}", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
