#!/usr/bin/env python3
"""loadgen's execution segments (k6-compat §10) and `loadgen merge` end to end: one test
split over four loadgen processes, run at the same time against a real nginx as the
Kubernetes Indexed Job would run them, adds up to the single-process run (per scenario, from
each process's --out csv), each process shows and runs its own share, the merge of their
summaries has the single run's totals and decides the exit code on them, and bad segments
are refused with k6's messages and exit codes."""

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
        "options": {
            "scenarios": {
                "shared": {"executor": "shared-iterations", "vus": 10, "iterations": 100},
                "pervu": {"executor": "per-vu-iterations", "vus": 7, "iterations": 3},
                # Enough VUs that no iteration is dropped on a slow machine; maxVUs 30 is not
                # a multiple of 4, so the rate is split by the derived sequence 8, 8, 7, 7 / 30.
                "rate": {"executor": "constant-arrival-rate", "rate": 20, "duration": "2s",
                         "preAllocatedVUs": 20, "maxVUs": 30},
                "ramprate": {"executor": "ramping-arrival-rate", "startRate": 0,
                             "preAllocatedVUs": 20,
                             "stages": [{"target": 30, "duration": "2s"}]},
                "ramp": {"executor": "ramping-vus", "startVUs": 0, "gracefulRampDown": "0s",
                         "stages": [{"target": 8, "duration": "1s"},
                                    {"target": 8, "duration": "1s"}]},
            },
            "thresholds": {
                # Each part alone has fewer than 100 shared iterations; the whole test has
                # exactly 100.
                "iterations{scenario:shared}": ["count==100"],
                "http_req_duration": ["p(95)<5000"],
            },
        },
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


def merge_checks(check, binary, work):
    parts = [f"part{i}.json" for i in range(4)]
    r = subprocess.run([binary, "merge", *parts, "--summary-export", "merged.json"],
                       capture_output=True, text=True, cwd=work, timeout=60)
    check.check(r.returncode == 0 and "TOTAL RESULTS" in r.stdout and
                "✓ 'count==100' count=100" in r.stdout,
                f"the merge passes the threshold every part failed: {r.returncode} "
                f"{r.stdout[:600]} {r.stderr[-300:]}")
    whole = json.load(open(f"{work}/whole.json"))["metrics"]
    merged = json.load(open(f"{work}/merged.json"))["metrics"]
    pieces = [json.load(open(f"{work}/{p}"))["metrics"] for p in parts]
    for name in ("iterations{scenario:shared}",):
        check.equal(merged[name]["count"], whole[name]["count"],
                    f"{name}: the merged count equals the single run's")
    check.equal(merged["http_reqs"]["count"], sum(p["http_reqs"]["count"] for p in pieces),
                "http_reqs: the parts' counts add up")
    check.equal(merged["checks"]["passes"], sum(p["checks"]["passes"] for p in pieces),
                "checks: the parts' passes add up")
    check.equal(merged["data_sent"]["count"], sum(p["data_sent"]["count"] for p in pieces),
                "data_sent: the parts' bytes add up")
    d = merged["http_req_duration"]
    parts_d = [p["http_req_duration"] for p in pieces]
    n = [p["http_reqs"]["count"] for p in pieces]
    weighted = sum(pd["avg"] * k for pd, k in zip(parts_d, n)) / sum(n)
    check.check(abs(d["avg"] - weighted) <= 1e-6 * max(1, weighted) and
                d["min"] == min(pd["min"] for pd in parts_d) and
                d["max"] == max(pd["max"] for pd in parts_d) and
                min(pd["p(95)"] for pd in parts_d) <= d["p(95)"] <= max(pd["p(95)"] for pd in parts_d),
                f"http_req_duration: avg, min, max of the whole; p(95) from the merged "
                f"histograms: {d} vs {parts_d}")
    check.equal(merged["vus_max"]["value"], sum(p["vus_max"]["value"] for p in pieces),
                "vus_max: a gauge of per-instance counts, added")
    r = subprocess.run([binary, "merge", *parts, "--summary-trend-stats", "avg,p(99)",
                        "--summary-export", "stats.json"], capture_output=True, text=True,
                       cwd=work, timeout=60)
    stats = json.load(open(f"{work}/stats.json"))["metrics"]["http_req_duration"] \
        if r.returncode == 0 else {}
    check.check(set(stats) - {"thresholds"} == {"avg", "p(99)"} and "p(99)=" in r.stdout,
                f"--summary-trend-stats chooses the merged summary's columns: {stats}")
    # Parts of different tests: their thresholds differ, the merge refuses.
    other = json.load(open(f"{work}/part1.json"))
    other["faultline_merge"]["thresholds"]["http_req_duration"] = [
        {"source": "p(99)<1", "abortOnFail": False, "delayAbortEval": ""}]
    with open(f"{work}/other.json", "w") as f:
        json.dump(other, f)
    r = subprocess.run([binary, "merge", "part0.json", "other.json"], capture_output=True,
                       text=True, cwd=work, timeout=60)
    check.check(r.returncode == 255 and "other.json: its thresholds differ" in r.stderr,
                f"parts with other thresholds are refused: {r.returncode} {r.stderr[-300:]}")
    # A merge of merges adds up the same.
    for a, b, out in (("part0.json", "part1.json", "ab.json"), ("part2.json", "part3.json", "cd.json")):
        subprocess.run([binary, "merge", a, b, "--summary-export", out], capture_output=True,
                       cwd=work, timeout=60)
    r = subprocess.run([binary, "merge", "ab.json", "cd.json", "--summary-export", "abcd.json"],
                       capture_output=True, text=True, cwd=work, timeout=60)
    again = json.load(open(f"{work}/abcd.json"))["metrics"] if r.returncode == 0 else {}
    check.check(again.get("http_reqs", {}).get("count") == merged["http_reqs"]["count"] and
                again.get("http_req_duration", {}).get("p(95)") == d["p(95)"],
                "merging two merges gives the same totals and percentiles")
    # A threshold the whole test fails decides the merge's exit code.
    r = subprocess.run([binary, "merge", *parts[:2]], capture_output=True, text=True, cwd=work,
                       timeout=60)
    check.check(r.returncode == 99 and "thresholds on metrics 'iterations{scenario:shared}'" in
                r.stderr, f"half of the parts: the count threshold fails, exit 99: "
                          f"{r.returncode} {r.stderr[-300:]}")
    # A summary without a merge state (a run without a segment) is refused.
    r = subprocess.run([binary, "merge", "whole.json", "part0.json"], capture_output=True,
                       text=True, cwd=work, timeout=60)
    check.check(r.returncode == 255 and "has no \"faultline_merge\" state" in r.stderr.replace('\\"', '"'),
                f"a file without the merge state: {r.returncode} {r.stderr[-300:]}")


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
        check.check(all(p.returncode == 99 for p in procs),
                    f"each part alone fails the whole test's count==100 threshold (99): "
                    f"{[p.returncode for p in procs]}")
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

        # loadgen merge: the parts' summaries make the whole test's.
        merge_checks(check, binary, work)

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
import {{ check, group }} from 'k6';
export const options = {{
  executionSegmentSequence: '{SEQUENCE}',
  scenarios: {{ s: {{ executor: 'shared-iterations', vus: 4, iterations: 22 }} }},
  thresholds: {{ checks: ['rate==1'] }},
}};
export default function () {{
  group('api', () => {{
    check(http.get('{base}/index.html'), {{ 'is 200': (r) => r.status === 200 }});
  }});
}}
""")
        counts = []
        for i, seg in enumerate(SEGMENTS):
            r = run(binary, ["--quiet", "--execution-segment", seg, "--summary-export", "js.json",
                             "--summary-data", f"js{i}.data.json", "script.js"], work)
            m = json.load(open(f"{work}/js.json"))["metrics"] if r.returncode == 0 else {}
            counts.append(m.get("iterations", {}).get("count"))
        check.equal(counts, [6, 6, 5, 5], "a script's 22 shared iterations over 4 segments")
        r = subprocess.run([binary, "merge", *[f"js{i}.data.json" for i in range(4)],
                            "--summary-data", "js.merged.json"], capture_output=True, text=True,
                           cwd=work, timeout=60)
        data = json.load(open(f"{work}/js.merged.json")) if r.returncode == 0 else {}
        groups = data.get("root_group", {}).get("groups", [])
        api = [g for g in groups if g.get("name") == "api"]
        check.check(r.returncode == 0 and
                    data["metrics"]["iterations"]["values"]["count"] == 22 and
                    api and api[0]["checks"][0]["passes"] == 22 and
                    "█ GROUP" not in r.stdout and "✓ is 200" in r.stdout,
                    f"--summary-data parts merge with their groups and checks: {r.returncode} "
                    f"{r.stderr[-300:]} {groups}")

        # --execution-segment-index: the N-th segment of the sequence; with --no-thresholds
        # the part exits 0 and its summary still carries the thresholds for the merge.
        r = run(binary, ["--execution-segment-index", "1", "--execution-segment-sequence",
                         SEQUENCE, "--no-thresholds", "--summary-export", "idx.json",
                         "-o", "csv=idx.csv", "test.json"], work)
        state = json.load(open(f"{work}/idx.json")).get("faultline_merge", {}) \
            if r.returncode == 0 else {}
        check.check(r.returncode == 0 and "scenarios: (25.00%)" in r.stdout and
                    iterations_by_scenario(f"{work}/idx.csv").get("shared") == 30 and
                    "iterations{scenario:shared}" in state.get("thresholds", {}),
                    f"--execution-segment-index 1 runs 1/4:1/2, thresholds kept for the merge: "
                    f"{r.returncode} {r.stderr[-300:]}")
        for extra, message in ((["--execution-segment-index", "4", "--execution-segment-sequence",
                                 SEQUENCE], "is not a segment of the sequence (0 to 3)"),
                               (["--execution-segment-index", "0"],
                                "needs a valid --execution-segment-sequence")):
            r = run(binary, [*extra, "test.json"], work)
            check.check(r.returncode == 255 and message in r.stderr,
                        f"{extra}: {r.returncode} {r.stderr[-200:]}")

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
