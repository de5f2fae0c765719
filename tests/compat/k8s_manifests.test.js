// docker/k8s: the Indexed Job that splits one loadgen test over N pods and the Job that
// merges their results. The manifests are validated against Kubernetes' API schemas
// (npm: kubernetes-models 4.5.1, read with yaml 2.9.1), checked for agreeing with each
// other, and their flow is run here: N local loadgen processes with exactly the arguments
// the pods get (the completion index put in for $(SEGMENT_INDEX), the ConfigMap and the
// volume as local directories), then the merge's arguments. The merged totals must equal a
// single-process run of the same test, and the merge's exit code follows the thresholds.
// Run: FAULTLINE_LOADGEN=<binary> node --test
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const YAML = require("yaml");
const { ConfigMap, PersistentVolumeClaim } = require("kubernetes-models/v1");
const { Job } = require("kubernetes-models/batch/v1");

const loadgen = process.env.FAULTLINE_LOADGEN;
const k8sDir = path.join(__dirname, "../../docker/k8s");
const models = { "v1/ConfigMap": ConfigMap, "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "batch/v1/Job": Job };

function load(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(k8sDir, file), "utf8"));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: YAML errors`);
  return docs.map((d) => d.toJSON()).filter((d) => d !== null);
}

function validate(obj) {
  const Model = models[`${obj.apiVersion}/${obj.kind}`];
  assert.ok(Model, `no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();  // throws with the schema's complaint
}

const segmentsDocs = load("segments-job.yaml");
const mergeDocs = load("merge-job.yaml");
const job = segmentsDocs.find((d) => d.kind === "Job");
const pvc = segmentsDocs.find((d) => d.kind === "PersistentVolumeClaim");
const mergeJob = mergeDocs.find((d) => d.kind === "Job");
const podArgs = job.spec.template.spec.containers[0].args;
const mergeArgs = mergeJob.spec.template.spec.containers[0].args;
const flag = (args, name) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
};

test("the manifests validate against Kubernetes' schemas", () => {
  for (const obj of [...segmentsDocs, ...mergeDocs]) validate(obj);
  // What `kubectl create configmap loadgen-script --from-file=test.js=...` makes.
  validate({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "loadgen-script" },
    data: { "test.js": "export default function () {}\n" } });
  // The validator is not a formality: a wrong type and a missing required field are refused.
  const broken = structuredClone(job);
  broken.spec.completions = "four";
  assert.throws(() => validate(broken), /completions/);
  const nameless = structuredClone(job);
  delete nameless.spec.template.spec.containers[0].name;
  assert.throws(() => validate(nameless), /name/);
});

test("the Jobs agree: one pod per segment, every part merged", () => {
  assert.equal(job.spec.completionMode, "Indexed");
  const sequence = flag(podArgs, "execution-segment-sequence").split(",");
  const parts = sequence.length - 1;
  assert.equal(job.spec.completions, parts, "one completion per segment of the sequence");
  assert.equal(job.spec.parallelism, parts, "all segments run at once");
  const env = job.spec.template.spec.containers[0].env.find((e) => e.name === "SEGMENT_INDEX");
  assert.equal(env.valueFrom.fieldRef.fieldPath,
    "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  assert.equal(flag(podArgs, "execution-segment-index"), "$(SEGMENT_INDEX)");
  const out = flag(podArgs, "summary-export");
  assert.match(out, /\$\(SEGMENT_INDEX\)/);
  const expected = [...Array(parts).keys()].map((i) => out.replace("$(SEGMENT_INDEX)", String(i)));
  assert.deepEqual(mergeArgs.filter((a) => !a.startsWith("-")).slice(1), expected,
    "the merge reads exactly the files the pods write");
  assert.equal(mergeArgs[0], "merge");
  const claim = (j) => j.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim)
    .persistentVolumeClaim.claimName;
  assert.equal(claim(job), pvc.metadata.name);
  assert.equal(claim(mergeJob), pvc.metadata.name);
  const script = job.spec.template.spec.volumes.find((v) => v.configMap);
  assert.equal(script.configMap.name, "loadgen-script");
  const mount = job.spec.template.spec.containers[0].volumeMounts.find((m) => m.name === script.name);
  assert.equal(podArgs[podArgs.length - 1], `${mount.mountPath}/test.js`);
});

let server;
let base;
let dir;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-flow-"));
  server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok\n");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// The pods' arguments with the completion index put in and the ConfigMap and the volume
// as local directories.
function localArgs(args, index, scripts, results) {
  return args.map((a) => a.replaceAll("$(SEGMENT_INDEX)", String(index))
    .replace("/scripts/", `${scripts}/`).replaceAll("/results/", `${results}/`));
}

function runLoadgen(args) {
  return new Promise((resolve) => {
    const p = spawn(loadgen, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => { out += d; });
    p.stderr.on("data", (d) => { err += d; });
    p.on("close", (code) => resolve({ code, out, err }));
  });
}

test("the Jobs' flow, run locally, equals a single-process run", { timeout: 240000 }, async () => {
  const scripts = path.join(dir, "scripts");
  const results = path.join(dir, "results");
  fs.mkdirSync(scripts);
  fs.mkdirSync(results);
  fs.writeFileSync(path.join(scripts, "test.js"), `
import http from 'k6/http';
import { check } from 'k6';
export const options = {
  scenarios: {
    shared: { executor: 'shared-iterations', vus: 10, iterations: 120 },
    steady: { executor: 'constant-arrival-rate', rate: 30, duration: '3s', preAllocatedVUs: 20 },
  },
  thresholds: {
    'iterations{scenario:shared}': ['count==120'],
    checks: ['rate==1'],
  },
};
export default function () {
  check(http.get('${base}/'), { 'is 200': (r) => r.status === 200 });
}
`);
  const parts = flag(podArgs, "execution-segment-sequence").split(",").length - 1;
  const pods = await Promise.all([...Array(parts).keys()].map((i) =>
    runLoadgen(localArgs(podArgs, i, scripts, results))));
  pods.forEach((p, i) => assert.equal(p.code, 0, `pod ${i}: ${p.err}`));
  const merged = await runLoadgen(localArgs(mergeArgs, 0, scripts, results));
  assert.equal(merged.code, 0, `merge: ${merged.err}`);
  assert.match(merged.out, /✓ 'count==120' count=120/);

  // (Not spawnSync: this process is also the server.)
  const single = await runLoadgen(["run", "--quiet", "--summary-export",
    path.join(dir, "single.json"), path.join(scripts, "test.js")]);
  assert.equal(single.code, 0, single.err);
  const one = JSON.parse(fs.readFileSync(path.join(dir, "single.json"))).metrics;
  const total = JSON.parse(fs.readFileSync(path.join(results, "total.json"))).metrics;
  // Iteration-based: exact. Time-based (the arrival rate): within 1%.
  assert.equal(total["iterations{scenario:shared}"].count, one["iterations{scenario:shared}"].count);
  const steadyOne = one.iterations.count - one["iterations{scenario:shared}"].count;
  const steadyAll = total.iterations.count - total["iterations{scenario:shared}"].count;
  assert.ok(Math.abs(steadyAll - steadyOne) <= 0.01 * steadyOne,
    `arrival-rate iterations ${steadyAll} vs ${steadyOne}`);
  assert.equal(total.http_reqs.count, total.iterations.count, "one request per iteration");
  assert.equal(total.checks.passes, total.iterations.count);

  // Thresholds on the merged summary decide: without the last part the count is short.
  const short = localArgs(mergeArgs, 0, scripts, results).filter((a) => !a.endsWith(`part-${parts - 1}.json`));
  const failed = await runLoadgen(short);
  assert.equal(failed.code, 99, failed.err);
  assert.match(failed.err, /thresholds on metrics 'iterations\{scenario:shared\}' have been crossed/);
});
