#!/usr/bin/env python3
"""WebSocket load side by side, in one run, against the same echo server (Debian's
websocketd running `cat`): loadgen running a k6/ws script and a Node.js client on the npm
`ws` package, each holding SESSIONS sessions that send a 32-byte message and send it again
whenever its echo comes back.

For each tool: messages/s, client CPU microseconds per message, and memory per session.
Each tool runs twice (a short and a long run); CPU and messages are taken as the difference
of the two, so start-up and shut-down (loadgen initialises a JavaScript VU per session)
cancel out. Memory per session is the peak RSS of the long run minus that of a one-session
run, divided by the sessions.

Usage: bench/ws/run.py [sessions] [short_seconds] [long_seconds]"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../loadgen"))
from run import LOADGEN, raise_fd_limit, timed  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "../../tests/e2e"))
from harness import free_port  # noqa: E402

SCRIPT = """
import ws from 'k6/ws';
export const options = {
  scenarios: { s: { executor: 'per-vu-iterations', vus: SESSIONS, iterations: 1, maxDuration: '10m' } },
};
export default function () {
  ws.connect('URL', (socket) => {
    socket.on('open', () => socket.send('x'.repeat(32)));
    socket.on('message', (m) => socket.send(m));
    socket.setTimeout(() => socket.close(), SECONDS * 1000);
  });
}
"""


def run_loadgen(work, url, sessions, seconds, sample_rss):
    script = os.path.join(work, f"ws-{sessions}-{seconds}.js")
    with open(script, "w") as f:
        f.write(SCRIPT.replace("URL", url).replace("SESSIONS", str(sessions))
                .replace("SECONDS", str(seconds)))
    export = os.path.join(work, "summary.json")
    _, cpu, peak = timed([LOADGEN, "run", "--quiet", "--summary-export", export, script],
                         sample_rss=sample_rss)
    with open(export) as f:
        metrics = json.load(f)["metrics"]
    return metrics.get("ws_msgs_received", {}).get("count", 0), cpu, peak


def run_node(url, sessions, seconds, sample_rss):
    out, cpu, peak = timed(["node", os.path.join(HERE, "client.js"), url, str(sessions), str(seconds)],
                           sample_rss=sample_rss)
    return json.loads(out.strip().splitlines()[-1])["received"], cpu, peak


def main():
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    short = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    long = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    raise_fd_limit()
    if not os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                       check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen(["websocketd", f"--port={port}", "--address=127.0.0.1",
                               "--loglevel=error", "cat"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"ws://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    work = tempfile.mkdtemp()
    print(f"WebSocket echo ping-pong, {sessions} sessions, 32-byte messages, websocketd `cat` as the "
          f"echo server ({os.cpu_count()} cores); runs of {short} s and {long} s, the difference counted")
    print(f"  {'':24} {'messages/s':>11} {'CPU µs/msg':>11} {'KiB/session':>12}")
    rows = {}
    try:
        for name, runner in (("loadgen (k6/ws script)", lambda n, s, r: run_loadgen(work, url, n, s, r)),
                             ("node + ws 8.18", lambda n, s, r: run_node(url, n, s, r))):
            m1, c1, _ = runner(sessions, short, False)
            m2, c2, peak = runner(sessions, long, True)
            _, _, base = runner(1, 1, True)
            rate = (m2 - m1) / (long - short)
            us = (c2 - c1) / (m2 - m1) * 1e6 if m2 > m1 else float("nan")
            per_session = (peak - base) / max(1, sessions - 1)
            rows[name] = (rate, us, per_session)
            print(f"  {name:24} {rate:11.0f} {us:11.2f} {per_session:12.0f}", flush=True)
        lg, nd = rows["loadgen (k6/ws script)"], rows["node + ws 8.18"]
        print(f"  loadgen / node: CPU per message {lg[1] / nd[1]:.2f}x, memory per session "
              f"{lg[2] / nd[2]:.2f}x (loadgen's includes the session's JavaScript VU)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
