// Report tools k6 users already have, fed by loadgen (npm: k6-to-junit 1.0.3 reads the legacy
// console text, k6-html-reporter 1.0.5 reads the handleSummary() data object).
// Run: FAULTLINE_LOADGEN=<binary> FAULTLINE_BACKEND=<auto|io_uring|epoll> node --test
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");

const loadgen = process.env.FAULTLINE_LOADGEN;
const backend = process.env.FAULTLINE_BACKEND || "auto";
let server;
let base;
let dir;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "k6-consumers-"));
  server = http.createServer((req, res) => {
    if (req.url === "/ok") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("all good\n");
    } else {
      res.writeHead(404);
      res.end("missing\n");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Runs loadgen asynchronously (the HTTP server lives in this process).
function runLoadgen(args) {
  return new Promise((resolve) => {
    const p = spawn(loadgen, ["run", "--backend", backend, ...args]);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function scenarioFile() {
  const file = path.join(dir, "scenario.json");
  fs.writeFileSync(
    file,
    JSON.stringify({
      options: {
        scenarios: { main: { executor: "shared-iterations", vus: 2, iterations: 20 } },
        thresholds: {
          http_req_duration: ["p(95)<5000"],
          http_req_failed: ["rate<0.01"],
          "checks{check:status is 200}": ["rate>0.99"],
        },
      },
      flows: {
        default: [
          { url: `${base}/ok`, checks: [{ name: "status is 200", status: 200 }] },
          { url: `${base}/missing`, name: "missing" },
        ],
      },
    }),
  );
  return file;
}

test("k6-to-junit turns the legacy summary into one test case per threshold", async () => {
  const { code, stdout, stderr } = await runLoadgen(["--summary-mode", "legacy", scenarioFile()]);
  assert.equal(code, 99, stderr); // the 404s break http_req_failed
  assert.match(stdout, /script: /);
  const { K6Parser } = require("k6-to-junit");
  const parser = new K6Parser();
  await parser.parse(stdout, { name: "loadgen" });
  assert.equal(parser.allPassed(), false);
  const xml = parser.toXml();
  const cases = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(cases.sort(), ["http_req_duration", "http_req_failed", "{ check:status is 200 }"].sort());
  const failures = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"[^>]*>\s*<failure/g)].map((m) => m[1]);
  assert.deepEqual(failures, ["http_req_failed"]);

  // The command-line tool reads the same text from stdin.
  const out = path.join(dir, "junit.xml");
  const cli = require.resolve("k6-to-junit/dist/command.js");
  const r = spawnSync(process.execPath, [cli, out], { input: stdout });
  assert.equal(r.status, 0, String(r.stderr));
  const written = fs.readFileSync(out, "utf8");
  assert.match(written, /tests="3"/);
  assert.match(written, /failures="1"/);
});

test("k6-html-reporter renders the --summary-data object", async () => {
  const data = path.join(dir, "summary.json");
  const { code, stderr } = await runLoadgen(["--quiet", "--summary-data", data, scenarioFile()]);
  assert.equal(code, 99, stderr);
  const summary = JSON.parse(fs.readFileSync(data, "utf8"));
  assert.equal(summary.metrics.http_reqs.type, "counter");
  assert.equal(summary.metrics.http_reqs.values.count, 40);
  assert.equal(summary.metrics.http_req_failed.thresholds["rate<0.01"].ok, false);
  assert.ok(summary.state.testRunDurationMs > 0);
  assert.equal(summary.root_group.checks[0].passes, 20);

  const { generateSummaryReport } = require("k6-html-reporter");
  const outDir = path.join(dir, "html");
  generateSummaryReport({ jsonFile: data, output: outDir });
  const html = fs.readFileSync(path.join(outDir, "report.html"), "utf8");
  assert.match(html, /http_req_failed/);
  assert.match(html, /status is 200/);
  assert.match(html, /1 thresholds? (was|were) not met/i);
});
