#!/usr/bin/env python3
"""loadgen's execution segments (k6-compat §10) end to end: one test split over four
loadgen processes, run at the same time against a real nginx as the Kubernetes Indexed Job
would run them, adds up to the single-process run (per scenario, from each process's
--out csv), each process shows and runs its own share, and bad segments are refused with
k6's messages and exit codes."""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker  # noqa: E402
from test_loadgen import Nginx  # noqa: E402

SEQUENCE = "0,1/4,1/2,3/4,1"
SEGMENTS = ["0:1/4", "1/4:1/2", "1/2:3/4", "3/4:1"]


def scenario_file(base):
    return {
        "options": {"scenarios": {
            "shared": {"executor": "shared-iterations", "vus": 10, "iterations": 100},
            "pervu": {"executor": "per-vu-iterations", "vus": 7, "iterations": 3},
            # Enough VUs that no iteration is dropped on a slow machine; maxVUs 30 is not a
            # multiple of 4, so the rate is split by the derived sequence 8, 8, 7, 7 / 30.
            "rate": {"executor": "constant-arrival-rate", "rate": 20, "duration": "2s",
                     "preAllocatedVUs": 20, "maxVUs": 30},
            "ramprate": {"executor": "ramping-arrival-rate", "startRate": 0,
                         "preAllocatedVUs": 20,
                         "stages": [{"target": 30, "duration": "2s"}]},
            "ramp": {"executor": "ramping-vus", "startVUs": 0, "gracefulRampDown": "0s",
                     "stages": [{"target": 8, "duration": "1s"},
                                {"target": 8, "duration": "1s"}]},
        }},
        "flows": {"default": [{"url": base + "/index.html", "checks": [{"status": 200}]},
                              {"sleep": "50ms"}]},
    }


def iterations_by_scenario(path):
    counts = {}
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        col = header.index("scenario")
        for r in rows:
            if r[0] == "iterations":
                counts[r[col]] = counts.get(r[col], 0) + 1
    return counts


def run(binary, args, cwd, timeout=120):
    return subprocess.run([binary, "run", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    check = Checker("segments")
    work = tempfile.mkdtemp(prefix="loadgen-seg-")
    nginx = Nginx()
    try:
        base = f"http://127.0.0.1:{nginx.port}"
        with open(f"{work}/test.json", "w") as f:
            json.dump(scenario_file(base), f)

        whole = run(binary, ["--quiet", "-o", "csv=whole.csv", "--summary-export", "whole.json",
                             "test.json"], work)
        check.equal(whole.returncode, 0, "the single-process run: " + whole.stderr[-300:])
        total = iterations_by_scenario(f"{work}/whole.csv")

        # The four segments at once, as four pods of the Indexed Job.
        procs = [subprocess.Popen(
            [binary, "run", "--execution-segment", seg, "--execution-segment-sequence", SEQUENCE,
             "-o", f"csv=part{i}.csv", "--summary-export", f"part{i}.json", "test.json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=work)
            for i, seg in enumerate(SEGMENTS)]
        outs = [p.communicate(timeout=120) for p in procs]
        check.check(all(p.returncode == 0 for p in procs),
                    f"every segment's run exits 0: {[p.returncode for p in procs]}")
        parts = [iterations_by_scenario(f"{work}/part{i}.csv") for i in range(4)]
        summed = {}
        for part in parts:
            for name, n in part.items():
                summed[name] = summed.get(name, 0) + n
        for name in ("shared", "pervu", "rate", "ramprate"):
            check.equal(summed.get(name), total.get(name),
                        f"{name}: the segments' iterations add up to the single run's "
                        f"({[p.get(name, 0) for p in parts]})")
        check.equal([p.get("shared") for p in parts], [30, 30, 20, 20],
                    "shared-iterations: 100 iterations follow the VU shares 3, 3, 2, 2")
        check.equal([p.get("pervu") for p in parts], [6, 6, 6, 3],
                    "per-vu-iterations: 7 VUs are 2, 2, 2, 1, 3 iterations each")
        check.check(total.get("rate") in (40, 41) and total.get("ramprate", 0) >= 25,
                    f"the arrival-rate scenarios ran their schedules: {total}")
        vus_max = [json.load(open(f"{work}/part{i}.json"))["metrics"]["vus_max"]["value"]
                   for i in range(4)]
        whole_max = json.load(open(f"{work}/whole.json"))["metrics"]["vus_max"]["value"]
        check.check(sum(vus_max) == whole_max,
                    f"the segments' VU reservations add up to the single run's "
                    f"({vus_max} vs {whole_max})")
        header = outs[0][0]
        check.check("scenarios: (25.00%) 5 scenarios" in header and
                    "* shared: 30 iterations shared among 3 VUs" in header and
                    "* pervu: 3 iterations for each of 2 VUs" in header and
                    "* rate: 5.33 iterations/s for 2s (maxVUs: 5-8" in header and
                    "* ramp: Up to 2 looping VUs for 2s over 2 stages" in header,
                    f"the first segment's header shows its share:\n{header[:900]}")
        check.check("* rate: 4.67 iterations/s for 2s (maxVUs: 5-7" in outs[3][0],
                    "the last segment's rate: 20/s x 7/30")

        # A share of nothing: the scenario does not run there, the run still ends well.
        small = {"options": {"scenarios": {"one": {"executor": "constant-vus", "vus": 1,
                                                   "duration": "1s"}}},
                 "flows": {"default": [{"url": base + "/index.html"}, {"sleep": "100ms"}]}}
        with open(f"{work}/small.json", "w") as f:
            json.dump(small, f)
        r = run(binary, ["--execution-segment", "1/4:1/2", "--execution-segment-sequence",
                         SEQUENCE, "--summary-export", "small.json.out", "small.json"], work)
        exported = json.load(open(f"{work}/small.json.out")) if r.returncode == 0 else {}
        check.check(r.returncode == 0 and "scenarios: (25.00%) 0 scenarios" in r.stdout and
                    "iterations" not in exported.get("metrics", {}),
                    f"a segment with no VU of a 1-VU test runs nothing: {r.returncode} "
                    f"{r.stdout[-400:]} {r.stderr[-300:]}")

        # A k6 script: the sequence in its options, each process's segment on the command line.
        with open(f"{work}/script.js", "w") as f:
            f.write(f"""
import http from 'k6/http';
export const options = {{
  executionSegmentSequence: '{SEQUENCE}',
  scenarios: {{ s: {{ executor: 'shared-iterations', vus: 4, iterations: 22 }} }},
}};
export default function () {{ http.get('{base}/index.html'); }}
""")
        counts = []
        for seg in SEGMENTS:
            r = run(binary, ["--quiet", "--execution-segment", seg, "--summary-export", "js.json",
                             "script.js"], work)
            m = json.load(open(f"{work}/js.json"))["metrics"] if r.returncode == 0 else {}
            counts.append(m.get("iterations", {}).get("count"))
        check.equal(counts, [6, 6, 5, 5], "a script's 22 shared iterations over 4 segments")

        # Bad segments: k6's messages; exit 255 on the command line, 104 in options.
        r = run(binary, ["--execution-segment", "12.5%", "test.json"], work)
        check.check(r.returncode == 255 and "is not a valid percentage" in r.stderr and
                    "--execution-segment" in r.stderr,
                    f"--execution-segment 12.5%: {r.returncode} {r.stderr[-300:]}")
        r = run(binary, ["--execution-segment-sequence", "0,1/2,1/4,1", "test.json"], work)
        check.check(r.returncode == 255 and
                    "segment start(0.50) must be less than its end(0.25)" in r.stderr,
                    f"a sequence that goes back: {r.returncode} {r.stderr[-300:]}")
        r = run(binary, ["--execution-segment", "0:1/3", "--execution-segment-sequence", SEQUENCE,
                         "test.json"], work)
        check.check(r.returncode == 104 and
                    "provided segment 0:1/3 can't be found in sequence 0,1/4,1/2,3/4,1"
                    in r.stderr, f"a segment outside its sequence: {r.returncode} "
                                 f"{r.stderr[-300:]}")
        bad = scenario_file(base)
        bad["options"]["executionSegment"] = "2:3"
        with open(f"{work}/bad.json", "w") as f:
            json.dump(bad, f)
        r = run(binary, ["bad.json"], work)
        check.check(r.returncode == 104 and "segment end value can't be more than 1 but was 3.00"
                    in r.stderr, f"executionSegment in the options: {r.returncode} "
                                 f"{r.stderr[-300:]}")
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
