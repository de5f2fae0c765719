#!/usr/bin/env python3
"""The performance workflow (.github/workflows/performance.yml) without GitHub:

1. its shape: the triggers (pull requests, a nightly schedule, a manual run with
   test_duration and vus), actions pinned to a major version, a Debian bookworm container;
2. every file its commands name exists in the repository, and the committed baseline is a
   summary `loadgen compare` reads;
3. the pull-request path run for real, in a short form: the steps' own shell scripts, in
   order, with a 3-second, 2-VU run of tests/load/baseline.js against the stand-in target
   on free ports; the run passes its thresholds, `loadgen compare` writes the Markdown
   table the comment step posts, and the verdict step fails exactly when the run or the
   comparison did."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, free_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "performance.yml")


def steps_by_name(job):
    return {s["name"]: s for s in job["steps"] if "name" in s}


def run_step(step, env, cwd):
    """A step's script as GitHub runs a `shell: bash` step."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    args = ap.parse_args()
    check = Checker("workflow")
    with open(WORKFLOW) as f:
        wf = yaml.safe_load(f)
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    check.check("pull_request" in triggers, "runs on pull requests")
    check.check(any("cron" in s for s in triggers.get("schedule", [])), "runs nightly")
    inputs = (triggers.get("workflow_dispatch") or {}).get("inputs", {})
    check.equal(sorted(inputs), ["test_duration", "vus"], "manual inputs")
    job = wf["jobs"]["performance"]
    check.equal(job.get("container"), "debian:bookworm", "runs in Debian bookworm")
    for step in job["steps"]:
        if "uses" in step:
            check.check(re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]) is not None,
                        f"action pinned to a major version: {step['uses']}")

    # Every repository path a command names exists.
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    paths = set(re.findall(r"(?:\./)?((?:scripts|tests|bench)/[\w./-]+)", scripts))
    check.check(len(paths) >= 5, f"the commands name the repository's scripts ({sorted(paths)})")
    for p in sorted(paths):
        check.check(os.path.exists(os.path.join(ROOT, p)), f"{p} exists")
    check.check(job["env"]["LOADGEN"] == "build/loadgen/loadgen" and
                "--target loadgen" not in scripts, "LOADGEN is the build's loadgen")
    check.check(os.path.exists(os.path.join(ROOT, "scripts", "build.sh")), "the build script")
    baseline = os.path.join(ROOT, "bench", "baseline", "quick-baseline.json")
    r = subprocess.run([args.loadgen, "compare", baseline, baseline], capture_output=True,
                       text=True, timeout=60)
    check.check(r.returncode == 0 and "| http_req_duration | p(95) |" in r.stdout,
                f"the committed baseline is a summary compare reads ({r.stderr!r})")
    comment = steps_by_name(job)["Comment on the pull request"]["with"]["script"]
    results = job["env"]["RESULTS_DIR"]
    for name in ("compare.md", "run-exit-code"):
        check.check(f"'{results}/{name}'" in comment, f"the comment reads {results}/{name}")

    # The pull-request path, for real and short.
    steps = steps_by_name(job)
    work = tempfile.mkdtemp(prefix="faultline-workflow-")
    env = dict(os.environ)
    env.update({
        "DURATION": "3s", "VUS": "2",
        "LOADGEN": os.path.abspath(args.loadgen),
        "STAND_IN_DIR": os.path.join(work, "stand-in"),
        "RESULTS_DIR": os.path.join(work, "results"),
        "CCA_HTTP_URL": f"http://127.0.0.1:{free_port()}",
        "CCA_WS_URL": f"ws://127.0.0.1:{free_port()}",
    })
    try:
        r = run_step(steps["Start the stand-in target"], env, ROOT)
        check.equal(r.returncode, 0, f"stand-in starts ({r.stderr[-300:]!r})")
        r = run_step(steps["Quick baseline"], env, ROOT)
        check.equal(r.returncode, 0, f"quick baseline step ({r.stderr[-300:]!r})")
        with open(os.path.join(work, "results", "run-exit-code")) as f:
            run_code = f.read().strip()
        check.equal(run_code, "0", "the short run passes its thresholds")
        check.check(os.path.exists(os.path.join(work, "results", "current.json")),
                    "the run wrote its summary export")
        r = run_step(steps["Compare with the committed baseline"], env, ROOT)
        check.equal(r.returncode, 0, "compare step (it records the exit code, never fails)")
        with open(os.path.join(work, "results", "compare-exit-code")) as f:
            compare_code = f.read().strip()
        check.check(compare_code in ("0", "99"), f"compare ran ({compare_code}, {r.stderr!r})")
        with open(os.path.join(work, "results", "compare.md")) as f:
            table = f.read()
        check.check(table.startswith("| metric | figure | baseline | current | change | |") and
                    "| http_reqs | rate |" in table, "the Markdown table for the comment")
        r = run_step(steps["Verdict"], env, ROOT)
        check.equal(r.returncode == 0, run_code == "0" and compare_code == "0",
                    f"the verdict follows run and compare ({r.stdout.strip()!r})")
        # A regression fails the verdict; a clean comparison passes it.
        for code, ok in (("99", False), ("0", True)):
            with open(os.path.join(work, "results", "compare-exit-code"), "w") as f:
                f.write(code + "\n")
            r = run_step(steps["Verdict"], env, ROOT)
            check.equal(r.returncode == 0, ok, f"verdict with compare exit {code}")
    finally:
        run_step(steps["Stop the stand-in target"], env, ROOT)
        shutil.rmtree(work, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
