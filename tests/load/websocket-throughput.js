// WebSocket throughput: agents hold ACP sessions and exchange JSON-RPC messages; the round
// trip of each request to its response (matched by id) is ws_message_latency.
import http from 'k6/http';
import ws from 'k6/ws';
import { check, group } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { API_KEY, WS_URL, WS_THRESHOLDS, length, requireHealthy, summaryOutputs } from './config.js';

const messageLatency = new Trend('ws_message_latency', true);
const connectionSuccess = new Rate('ws_connection_success');
const messageSuccess = new Rate('ws_message_success');
const sentCount = new Counter('ws_messages_sent');
const receivedCount = new Counter('ws_messages_received');
const wsErrors = new Counter('ws_errors');
const pongs = new Counter('ws_pongs');

const MESSAGES = Number(__ENV.WS_MESSAGES || length(50, 20));

export const options = {
  scenarios: {
    sessions: { executor: 'constant-vus', vus: length(20, 5), duration: length('2m', '4s') },
  },
  thresholds: {
    ...WS_THRESHOLDS,
    ws_connection_success: ['rate>0.99'],
    ws_message_success: ['rate>0.99'],
  },
};

export function setup() {
  return requireHealthy(http);
}

const METHODS = ['agent.heartbeat', 'agent.status', 'send_message', 'query_agent'];

export default function () {
  group('acp session', () => {
    const pending = {};
    let answered = 0;
    const res = ws.connect(WS_URL, { headers: { 'X-API-Key': API_KEY }, tags: { name: 'acp' } }, (socket) => {
      socket.on('open', () => {
        socket.ping();
        socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'agent.register', params: { agent: `vu-${__VU}` }, id: 0 }));
        pending[0] = Date.now();
        sentCount.add(1);
        for (let i = 1; i <= MESSAGES; i++) {
          const method = METHODS[i % METHODS.length];
          pending[i] = Date.now();
          socket.send(JSON.stringify({ jsonrpc: '2.0', method, params: { seq: i }, id: i }));
          sentCount.add(1);
        }
      });
      socket.on('message', (text) => {
        const msg = JSON.parse(text);
        const sentAt = pending[msg.id];
        if (sentAt === undefined) return;
        delete pending[msg.id];
        messageLatency.add(Date.now() - sentAt);
        receivedCount.add(1);
        answered += 1;
        if (answered === MESSAGES + 1) socket.close(1000);
      });
      socket.on('pong', () => pongs.add(1));
      socket.on('error', () => wsErrors.add(1));
      socket.setTimeout(() => socket.close(1000), 10000);
    });
    connectionSuccess.add(res.status === 101);
    check(res, { 'upgraded (101)': (r) => r && r.status === 101 });
    for (let i = 0; i <= MESSAGES; i++) messageSuccess.add(!(i in pending));
  });
}

export function handleSummary(data) {
  return summaryOutputs('websocket-throughput', data);
}
