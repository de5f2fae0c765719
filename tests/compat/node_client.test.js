// Compatibility suite: the real toxiproxy-node-client (npm, 4.1.0) against faultline-proxy.
// Run: FAULTLINE_PROXY=<binary> FAULTLINE_BACKEND=<auto|io_uring|epoll> node --test
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const net = require("node:net");
const { Toxiproxy } = requireClient();

function requireClient() {
  const mod = require("toxiproxy-node-client");
  return { Toxiproxy: mod.Toxiproxy || mod.default };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// A TCP echo server standing in for Redis/PostgreSQL.
function echoServer() {
  return new Promise((resolve) => {
    const srv = net.createServer((sock) => sock.pipe(sock));
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
}

function roundTrip(port, payload) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let got = "";
    sock.setTimeout(5000, () => {
      sock.destroy();
      reject(new Error("timeout"));
    });
    sock.on("connect", () => sock.write(payload));
    sock.on("data", (d) => {
      got += d.toString();
      if (got.length >= payload.length) {
        sock.end();
        resolve(got);
      }
    });
    sock.on("error", reject);
  });
}

function connectOutcome(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.on("connect", () => {
      sock.destroy();
      resolve("connected");
    });
    sock.on("error", (e) => resolve(e.code));
  });
}

let server;
let api;
let client;
let echo;

before(async () => {
  const binary = process.env.FAULTLINE_PROXY;
  assert.ok(binary, "FAULTLINE_PROXY must name the faultline-proxy binary");
  const port = await freePort();
  server = spawn(
    binary,
    ["-host", "127.0.0.1", "-port", String(port), "-backend", process.env.FAULTLINE_BACKEND || "auto"],
    { stdio: "ignore", env: { ...process.env, LOG_LEVEL: "warn" } },
  );
  api = `http://127.0.0.1:${port}`;
  client = new Toxiproxy(api);
  for (let i = 0; i < 100; i++) {
    try {
      await client.getVersion();
      break;
    } catch {
      await sleep(50);
    }
  }
  echo = await echoServer();
});

after(async () => {
  if (server) server.kill("SIGTERM");
  if (echo) echo.close();
});

test("version", async () => {
  assert.equal(await client.getVersion(), '{"version": "2.12.0"}\n');
});

test("create, get, list, update, enable/disable, delete a proxy", async () => {
  const upstream = `127.0.0.1:${echo.address().port}`;
  const proxy = await client.createProxy({ name: "redis", listen: "127.0.0.1:0", upstream });
  assert.equal(proxy.name, "redis");
  assert.equal(proxy.upstream, upstream);
  assert.equal(proxy.enabled, true);
  assert.match(proxy.listen, /^127\.0\.0\.1:\d+$/);
  const port = Number(proxy.listen.split(":")[1]);
  assert.equal(await roundTrip(port, "PING\r\n"), "PING\r\n");

  const fetched = await client.get("redis");
  assert.deepEqual(fetched.toJson(), proxy.toJson());

  const all = await client.getAll();
  assert.deepEqual(Object.keys(all), ["redis"]);

  // Creating it again is a conflict, which the client reports as an error.
  await assert.rejects(client.createProxy({ name: "redis", listen: "127.0.0.1:0", upstream }),
                       /409/);

  const disabled = await proxy.update({ enabled: false, listen: proxy.listen, upstream });
  assert.equal(disabled.enabled, false);
  assert.equal(await connectOutcome(port), "ECONNREFUSED");

  const enabled = await disabled.update({ enabled: true, listen: proxy.listen, upstream });
  assert.equal(enabled.enabled, true);
  assert.equal(enabled.listen, proxy.listen);
  assert.equal(await roundTrip(port, "again"), "again");

  await enabled.remove();
  await assert.rejects(client.get("redis"), /404/);
  assert.equal(await connectOutcome(port), "ECONNREFUSED");
});

test("populate creates proxies and keeps identical ones", async () => {
  const upstream = `127.0.0.1:${echo.address().port}`;
  const body = [
    { name: "pg", listen: "127.0.0.1:0", upstream },
    { name: "cache", listen: "127.0.0.1:0", upstream, enabled: false },
  ];
  const proxies = await client.populate(body);
  assert.deepEqual(Object.keys(proxies).sort(), ["cache", "pg"]);
  assert.equal(proxies.pg.enabled, true);
  assert.equal(proxies.cache.enabled, false);
  assert.equal(proxies.cache.listen, "127.0.0.1:0");

  // Same values again: the running proxy is kept (same bound address).
  const again = await client.populate([{ name: "pg", listen: proxies.pg.listen, upstream }]);
  assert.equal(again.pg.listen, proxies.pg.listen);
  await proxies.pg.remove();
  await proxies.cache.remove();
});

test("add, get, update and remove toxics", async () => {
  const upstream = `127.0.0.1:${echo.address().port}`;
  const proxy = await client.createProxy({ name: "pg2", listen: "127.0.0.1:0", upstream });

  const latency = await proxy.addToxic({
    type: "latency",
    stream: "downstream",
    toxicity: 1,
    attributes: { latency: 300, jitter: 150 },
  });
  assert.equal(latency.name, "latency_downstream");
  assert.deepEqual(latency.attributes, { latency: 300, jitter: 150 });

  const timeout = await proxy.addToxic({
    name: "pg_timeout",
    type: "timeout",
    stream: "upstream",
    toxicity: 0.5,
    attributes: { timeout: 10000 },
  });
  assert.equal(timeout.toxicity, 0.5);

  const fetched = await proxy.getToxic("pg_timeout");
  assert.deepEqual(fetched.toJson(), timeout.toJson());

  // A duplicate name is rejected (409), an unknown type too (400).
  await assert.rejects(proxy.addToxic({ type: "latency", stream: "downstream", toxicity: 1,
                                        attributes: { latency: 1 } }), /409/);
  await assert.rejects(proxy.addToxic({ name: "x", type: "nosuch", stream: "downstream",
                                        toxicity: 1, attributes: {} }), /400/);

  const updated = await latency.update({ toxicity: 0.25, attributes: { latency: 50, jitter: 0 } });
  assert.equal(updated.toxicity, 0.25);
  assert.deepEqual(updated.attributes, { latency: 50, jitter: 0 });

  // The client has no toxic listing; read it the way curl scripts do.
  const listed = await (await fetch(`${api}/proxies/pg2/toxics`)).json();
  assert.deepEqual(listed.map((t) => t.name), ["pg_timeout", "latency_downstream"]);

  await updated.remove();
  await assert.rejects(proxy.getToxic("latency_downstream"), /404/);
  await proxy.remove();
});

test("reset re-enables proxies and removes every toxic", async () => {
  const upstream = `127.0.0.1:${echo.address().port}`;
  const proxy = await client.createProxy({ name: "r1", listen: "127.0.0.1:0", upstream });
  await proxy.addToxic({ type: "latency", stream: "upstream", toxicity: 1,
                         attributes: { latency: 10, jitter: 0 } });
  await proxy.update({ enabled: false, listen: proxy.listen, upstream });
  await client.reset();
  const after = await client.get("r1");
  assert.equal(after.enabled, true);
  assert.deepEqual(await (await fetch(`${api}/proxies/r1/toxics`)).json(), []);
  await after.remove();
});

test("a latency toxic added through the client delays traffic, removal restores it", async () => {
  const upstream = `127.0.0.1:${echo.address().port}`;
  const proxy = await client.createProxy({ name: "lat", listen: "127.0.0.1:0", upstream });
  const port = Number(proxy.listen.split(":")[1]);
  const timed = async () => {
    const t0 = process.hrtime.bigint();
    assert.equal(await roundTrip(port, "ping"), "ping");
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  assert.ok((await timed()) < 80, "fast without toxics");
  const toxic = await proxy.addToxic({
    type: "latency",
    stream: "downstream",
    toxicity: 1,
    attributes: { latency: 150, jitter: 0 },
  });
  const slow = await timed();
  assert.ok(slow >= 140 && slow < 1500, `latency applied (${slow} ms)`);
  await toxic.remove();
  assert.ok((await timed()) < 80, "fast again after removal");
  await proxy.remove();
});
