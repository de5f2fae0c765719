// How much of k6's JavaScript API loadgen provides, measured against the declarations of the
// npm package @types/k6 (pinned in package.json), and a hard check that the names scripts rely
// on are there.
//
// 1. The TypeScript compiler API (npm: typescript) reads the .d.ts file of each module below and
//    lists its runtime names: exported functions, classes, consts and enums, plus the members of
//    its default export when the declarations give it one (written `default.<name>`).
//    Interfaces and type aliases have no runtime form and are left out.
// 2. For each module a small k6 script imports it as a namespace and, in its single iteration,
//    console.logs the keys of the namespace and of its default export as JSON. loadgen runs it;
//    the line is read back from the log on stderr. Which modules loadgen has is found out here,
//    not written down: a module it does not have fails to load (k6's "unknown modules" error),
//    and all of that module's names count as missing.
// 3. A table with the figure is printed, and the REQUIRED names (below) must be provided.
//
// Needs no backend and no network. Run: FAULTLINE_LOADGEN=<binary> node --test
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const ts = require("typescript");

// Module name -> its declaration file inside the @types/k6 package.
const MODULES = {
  k6: "index.d.ts",
  "k6/http": "http/index.d.ts",
  "k6/metrics": "metrics/index.d.ts",
  "k6/execution": "execution/index.d.ts",
  "k6/data": "data/index.d.ts",
  "k6/encoding": "encoding/index.d.ts",
  "k6/crypto": "crypto/index.d.ts",
  "k6/timers": "timers/index.d.ts",
  "k6/ws": "ws/index.d.ts",
};

// ---------------------------------------------------------------------------------------------
// REQUIRED: the names the JavaScript-runtime issue asks loadgen to provide. This is the only
// place that list lives.
//   * `name`          the named export `name`, and also `default.name` when @types/k6 gives the
//                     module a default export that carries it (`import http from 'k6/http';
//                     http.get(...)` is how most scripts reach it).
//   * `default.name`  only the member of the default export.
//   * trailing `?`    required only if @types/k6 declares it as a runtime name at all.
// The modules in ALWAYS_REQUIRED must exist; the others are checked once loadgen has them (a
// module it does not have yet is reported as skipped, and its names as missing in the figure).
const REQUIRED = {
  k6: ["check", "group", "sleep", "fail", "randomSeed"],
  "k6/http": [
    "get", "post", "put", "patch", "del", "head", "options", "request", "batch",
    "expectedStatuses", "setResponseCallback", "url", "Response?",
  ],
  "k6/metrics": ["Counter", "Gauge", "Rate", "Trend"],
  "k6/execution": ["default.vu", "default.scenario", "default.instance", "default.test"],
  "k6/data": ["SharedArray"],
  "k6/encoding": ["b64encode", "b64decode"],
  "k6/crypto": ["md5", "sha1", "sha256", "hmac", "randomBytes"],
  "k6/timers": ["setTimeout", "clearTimeout", "setInterval", "clearInterval"],
  "k6/ws": ["connect"],
};
const ALWAYS_REQUIRED = new Set(["k6", "k6/http", "k6/metrics"]);
// ---------------------------------------------------------------------------------------------

const loadgen = process.env.FAULTLINE_LOADGEN;
const MARK = "k6-api-coverage:";

let typesVersion;
let declared; // module -> { names: string[], abstract: string[] }
let observed; // module -> { status: "loaded" | "absent" | "broken", provided, extra, detail }
let dir;

// ---- declarations -----------------------------------------------------------------------------

function isAbstractClass(symbol) {
  return (symbol.declarations || []).some(
    (d) => ts.isClassDeclaration(d) && (ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Abstract) !== 0,
  );
}

function resolved(checker, symbol) {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

// @types/k6 writes the opaque objects k6 hands out (Metric, FileData, Hasher) as abstract classes
// with a private brand. k6 exports none of them, so they are reported but not counted.
function runtimeNames(checker, symbols, prefix, into) {
  for (const symbol of symbols) {
    if (symbol.name === "default") continue;
    const target = resolved(checker, symbol);
    if (!(target.flags & ts.SymbolFlags.Value)) continue; // interface, type alias
    if (isAbstractClass(target)) into.abstract.push(prefix + symbol.name);
    else into.names.push(prefix + symbol.name);
  }
}

function readDeclarations(root) {
  const files = Object.fromEntries(Object.entries(MODULES).map(([m, f]) => [m, path.join(root, f)]));
  // Only symbols are needed, not type checking, so TypeScript's own lib files stay out.
  const program = ts.createProgram(Object.values(files), {
    noEmit: true,
    noLib: true,
    types: [],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
  });
  const checker = program.getTypeChecker();
  const out = {};
  for (const [module, file] of Object.entries(files)) {
    const source = program.getSourceFile(file);
    assert.ok(source, `TypeScript did not load ${file}`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    assert.ok(moduleSymbol, `${file} is not a module`);
    const exports = checker.getExportsOfModule(moduleSymbol);
    const entry = { names: [], abstract: [] };
    runtimeNames(checker, exports, "", entry);
    const def = exports.find((s) => s.name === "default");
    if (def && resolved(checker, def).flags & ts.SymbolFlags.Value) {
      // `export * as default from "k6/http"` and friends: the members are the properties of the
      // default export's type (for a namespace, its value exports). Its own `default` member is
      // the namespace pointing at itself, not an API name, and is skipped.
      const type = checker.getTypeOfSymbolAtLocation(def, source);
      runtimeNames(checker, checker.getPropertiesOfType(type), "default.", entry);
    }
    entry.names = [...new Set(entry.names)]; // overloads
    out[module] = entry;
  }
  return out;
}

// ---- loadgen's side -----------------------------------------------------------------------------

// Go's strconv quoting as logrus uses it for values that need quotes.
function goUnquote(text) {
  assert.equal(text[0], '"');
  const bytes = [];
  const simple = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, "\\": 92, '"': 34, "'": 39 };
  let i = 1;
  for (;;) {
    const c = text[i];
    if (c === undefined) throw new Error(`unterminated quoted value: ${text}`);
    if (c === '"') return { value: Buffer.from(bytes).toString("utf8"), rest: text.slice(i + 1) };
    if (c !== "\\") {
      const cp = text.codePointAt(i);
      bytes.push(...Buffer.from(String.fromCodePoint(cp), "utf8"));
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = text[i + 1];
    if (e in simple) {
      bytes.push(simple[e]);
      i += 2;
    } else if (e === "x") {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (e === "u" || e === "U") {
      const len = e === "u" ? 4 : 8;
      bytes.push(...Buffer.from(String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + len), 16)), "utf8"));
      i += 2 + len;
    } else if (/[0-7]/.test(e)) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 4;
    } else {
      throw new Error(`unknown escape \\${e} in ${text}`);
    }
  }
}

// One `key=value key="quoted value" ...` log line as an object, or null if it is not one.
function parseLogLine(line) {
  const fields = {};
  let rest = line.trim();
  while (rest.length > 0) {
    const m = /^([A-Za-z_][\w.-]*)=/.exec(rest);
    if (!m) return null;
    rest = rest.slice(m[0].length);
    let value;
    if (rest.startsWith('"')) {
      ({ value, rest } = goUnquote(rest));
    } else {
      const end = rest.search(/\s|$/);
      value = rest.slice(0, end);
      rest = rest.slice(end);
    }
    fields[m[1]] = value;
    rest = rest.trimStart();
  }
  return fields;
}

// The script for one module. Next to Object.keys it asks `name in obj` for the declared names
// that Object.keys did not list, so that an accessor on a prototype still counts as provided.
function probeScript(module, entry) {
  const named = entry.names.filter((n) => !n.startsWith("default."));
  const members = entry.names.filter((n) => n.startsWith("default.")).map((n) => n.slice(8));
  return `import * as ns from ${JSON.stringify(module)};

export const options = { vus: 1, iterations: 1 };

function inspect(obj, expected) {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return null;
  const keys = Object.keys(obj);
  const inherited = expected.filter((name) => !keys.includes(name) && name in obj &&
    (!(name in Object.prototype) || Object.prototype.hasOwnProperty.call(obj, name)));
  return { keys, inherited };
}

export default function () {
  const report = {
    namespace: inspect(ns, ${JSON.stringify(named)}),
    default: inspect(ns.default, ${JSON.stringify(members)}),
  };
  console.log(${JSON.stringify(MARK)} + JSON.stringify(report));
}
`;
}

function probe(module, entry) {
  const file = path.join(dir, module.replace(/\//g, "_") + ".js");
  fs.writeFileSync(file, probeScript(module, entry));
  const r = spawnSync(loadgen, ["run", "--quiet", "--no-summary", file], {
    cwd: dir,
    encoding: "utf8",
    timeout: 60_000,
  });
  const detail = `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}; stderr:\n${r.stderr}`;
  // k6's wording (and loadgen's) for a module name it does not have.
  const unknown = `unknown modules [${JSON.stringify(module)}]`;
  let report = null;
  let absent = false;
  for (const line of r.stderr.split("\n")) {
    const fields = parseLogLine(line);
    if (!fields || fields.msg === undefined) continue;
    if (fields.source === "console" && fields.msg.startsWith(MARK)) {
      report = JSON.parse(fields.msg.slice(MARK.length));
    } else if (fields.level === "error" && fields.msg.startsWith(unknown)) {
      absent = true;
    }
  }
  if (report === null || r.status !== 0) {
    absent = absent && r.status !== 0;
    return { status: absent ? "absent" : "broken", provided: new Set(), extra: [], detail };
  }
  const provided = new Set();
  const offered = [];
  const add = (obj, prefix) => {
    if (!obj) return;
    for (const key of [...obj.keys, ...obj.inherited]) {
      if (prefix === "" && key === "default") continue;
      provided.add(prefix + key);
      offered.push(prefix + key);
    }
  };
  add(report.namespace, "");
  add(report.default, "default.");
  const extra = offered.filter((n) => !entry.names.includes(n));
  return { status: "loaded", provided, extra, detail };
}

// ---- the figure ---------------------------------------------------------------------------------

function table() {
  const lines = [`k6 JavaScript API coverage: loadgen against @types/k6 ${typesVersion}`];
  const row = (a, b, c, d, e) =>
    `  ${a.padEnd(14)}${String(b).padStart(9)}${String(c).padStart(10)}${String(d).padStart(9)}  ${e}`;
  lines.push(row("module", "declared", "provided", "missing", "loadgen"));
  let total = 0;
  let have = 0;
  const notes = [];
  for (const module of Object.keys(MODULES)) {
    const names = declared[module].names;
    const got = observed[module];
    const missing = names.filter((n) => !got.provided.has(n));
    total += names.length;
    have += names.length - missing.length;
    const state = { loaded: "loaded", absent: "no such module", broken: "FAILED TO LOAD" }[got.status];
    lines.push(row(module, names.length, names.length - missing.length, missing.length, state));
    if (missing.length > 0) notes.push(`  missing from ${module}: ${missing.join(", ")}`);
    if (got.extra.length > 0) notes.push(`  ${module} also has (not declared): ${got.extra.join(", ")}`);
    if (declared[module].abstract.length > 0) {
      const abstract = declared[module].abstract.join(", ");
      notes.push(`  not counted in ${module} (abstract classes, not exported by k6): ${abstract}`);
    }
  }
  lines.push(row("total", total, have, total - have, ""));
  const pct = total === 0 ? 0 : (100 * have) / total;
  lines.push(`loadgen provides ${have} of ${total} names (${pct.toFixed(1)}%)`);
  return [...lines, ...notes].join("\n");
}

before(() => {
  const root = path.dirname(require.resolve("@types/k6/package.json"));
  typesVersion = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version;
  declared = readDeclarations(root);
  assert.ok(loadgen, "FAULTLINE_LOADGEN must name the loadgen binary");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "k6-api-coverage-"));
  observed = {};
  for (const module of Object.keys(MODULES)) observed[module] = probe(module, declared[module]);
  console.log(table());
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the @types/k6 declarations give runtime names and no types", () => {
  assert.deepEqual([...declared.k6.names].sort(), [
    "check", "default.check", "default.fail", "default.group", "default.randomSeed",
    "default.sleep", "fail", "group", "randomSeed", "sleep",
  ]);
  // Interfaces and type aliases are not runtime names.
  for (const typeOnly of ["Checker", "JSONValue"]) assert.ok(!declared.k6.names.includes(typeOnly));
  for (const typeOnly of ["Params", "Response", "RequestBody", "default.Params"]) {
    assert.ok(!declared["k6/http"].names.includes(typeOnly), typeOnly);
  }
  assert.ok(!declared["k6/crypto"].names.includes("Algorithm"));
  // Classes, consts and the default object's members are.
  assert.ok(declared["k6/http"].names.includes("CookieJar"));
  assert.ok(declared["k6/http"].names.includes("default.TLS_1_3"));
  assert.ok(declared["k6/execution"].names.includes("default.vu"));
  assert.deepEqual([...declared["k6/metrics"].names].sort(), ["Counter", "Gauge", "Rate", "Trend"]);
  assert.deepEqual(declared["k6/metrics"].abstract, ["Metric"]);
  for (const module of Object.keys(MODULES)) {
    assert.ok(declared[module].names.length > 0, `${module} declares no runtime names`);
  }
});

// The REQUIRED entries of one module as concrete names, checked against the declarations.
function requiredNames(module) {
  const names = declared[module].names;
  const out = [];
  for (const spec of REQUIRED[module]) {
    if (spec.endsWith("?")) {
      const name = spec.slice(0, -1);
      for (const n of [name, `default.${name}`]) if (names.includes(n)) out.push(n);
      continue;
    }
    // A required name that @types/k6 does not declare means the list or the reading is wrong.
    assert.ok(names.includes(spec), `${module}: required name ${spec} is not declared by @types/k6`);
    out.push(spec);
    if (!spec.startsWith("default.") && names.includes(`default.${spec}`)) out.push(`default.${spec}`);
  }
  return out;
}

for (const module of Object.keys(MODULES)) {
  test(`${module} provides the required names`, (t) => {
    const got = observed[module];
    const wanted = requiredNames(module);
    if (got.status === "absent" && !ALWAYS_REQUIRED.has(module)) {
      t.skip(`loadgen has no ${module} module yet`);
      return;
    }
    assert.equal(got.status, "loaded", `${module} did not load: ${got.detail}`);
    const missing = wanted.filter((n) => !got.provided.has(n));
    assert.deepEqual(missing, [], `${module} lacks required names`);
  });
}
