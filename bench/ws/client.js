// The comparison client of bench/ws/run.py: SESSIONS WebSocket sessions on the npm `ws`
// package, each sending a message and sending it again whenever the echo comes back, for
// SECONDS; then prints how many messages came back.
// Usage: node client.js URL SESSIONS SECONDS
const WebSocket = require("ws");

const [url, sessions, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const payload = "x".repeat(32);
let received = 0;
let open = 0;
const sockets = [];
for (let i = 0; i < sessions; i++) {
  const ws = new WebSocket(url);
  ws.on("open", () => {
    open += 1;
    ws.send(payload);
  });
  ws.on("message", (data, isBinary) => {
    received += 1;
    ws.send(isBinary ? data : data.toString());
  });
  ws.on("error", (e) => console.error("session error:", e.message));
  sockets.push(ws);
}
setTimeout(() => {
  for (const ws of sockets) ws.terminate();
  console.log(JSON.stringify({ open, received }));
  process.exit(0);
}, seconds * 1000);
