#!/usr/bin/env python3
"""End to end: `loadgen compare` on the summaries of real runs. Two short runs against a
local server, one answering in about 2 ms and one in about 60 ms: the slow run compared
with the fast one is a regression (exit 99, the figures marked in the Markdown table, the
same table in --markdown FILE); the other way round, or a run with itself, is not (exit 0);
--summary-export and --summary-data files compare with each other; files that are not
summaries exit 104 with a message."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, HttpTestServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True, help="loadgen")
    args = ap.parse_args()
    check = Checker("compare")
    server = HttpTestServer()
    work = tempfile.mkdtemp(prefix="faultline-compare-")
    try:
        def run(delay_ms, flag, name):
            path = os.path.join(work, name)
            r = subprocess.run([args.binary, "--vus", "2", "--duration", "2s", "--quiet",
                                flag, path, f"{server.url}/delay/{delay_ms}"],
                               capture_output=True, text=True, timeout=60)
            check.equal(r.returncode, 0, f"run with {delay_ms} ms ({r.stderr[-300:]!r})")
            return path

        fast = run(2, "--summary-export", "fast.json")
        slow = run(60, "--summary-export", "slow.json")
        slow_data = run(60, "--summary-data", "slow-data.json")

        def compare(*argv):
            return subprocess.run([args.binary, "compare", *argv], capture_output=True, text=True,
                                  timeout=60)

        r = compare(fast, fast)
        check.check(r.returncode == 0 and "No figure got worse by more than 10%." in r.stdout,
                    f"a run against itself: no regression ({r.returncode}, {r.stdout[-200:]!r})")

        md = os.path.join(work, "table.md")
        r = compare(fast, slow, "--max-regression", "10%", "--markdown", md)
        check.equal(r.returncode, 99, "slower run: exit 99")
        rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line
                for line in r.stdout.splitlines() if line.startswith("| ")}
        p95 = rows.get(("http_req_duration", "p(95)"), "")
        check.check("**regression**" in p95, f"slower run: p(95) marked ({p95!r})")
        reqs = rows.get(("http_reqs", "rate"), "")
        check.check("**regression**" in reqs, f"slower run: fewer requests/s marked ({reqs!r})")
        failed = rows.get(("http_req_failed", "share"), "")
        check.check(failed.endswith("| ok |"), f"slower run: no failures, so no regression ({failed!r})")
        check.check("got worse by more than 10%.**" in r.stdout, "slower run: the verdict line")
        with open(md) as f:
            check.equal(f.read(), r.stdout, "--markdown writes the same table")

        r = compare(slow, fast)
        check.equal(r.returncode, 0, f"faster run: no regression ({r.stdout[-300:]!r})")
        r = compare(slow, slow_data, "--max-regression", "1000%")
        check.check(r.returncode == 0 and "| http_req_duration | p(95) |" in r.stdout,
                    f"--summary-export against --summary-data ({r.returncode}, {r.stderr!r})")
        r = compare(fast, slow, "--metric", "http_req_failed:lower", "--max-regression", "500%")
        check.check(r.returncode == 99, "a generous limit still catches a 30x slower p(95)")

        bad = os.path.join(work, "bad.json")
        with open(bad, "w") as f:
            f.write('{"state": {}}')
        r = compare(fast, bad)
        check.check(r.returncode == 104 and "bad.json: no \"metrics\" object" in r.stderr,
                    f"not a summary: exit 104 ({r.returncode}, {r.stderr!r})")
        r = compare(fast, os.path.join(work, "missing.json"))
        check.check(r.returncode == 104 and "cannot read" in r.stderr, "a missing file: exit 104")
        r = compare(fast, slow, "--max-regression", "lots")
        check.check(r.returncode == 104 and "--max-regression" in r.stderr, "a bad limit: exit 104")
        r = compare(fast)
        check.equal(r.returncode, 104, "one file only: a usage error")
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
