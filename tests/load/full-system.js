// Full system: HTTP users, agents spawning and ACP sessions at the same time, each as a
// scenario of its own with its own function.
import http from 'k6/http';
import ws from 'k6/ws';
import { check, group, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import {
  API_KEY, BASE_URL, HEADERS, HTTP_THRESHOLDS, ROLES, WS_THRESHOLDS, WS_URL, length, requireHealthy, summaryOutputs,
} from './config.js';

const messageLatency = new Trend('ws_message_latency', true);
const spawnDuration = new Trend('agent_spawn_duration', true);
const errors = new Rate('errors');
const wsErrors = new Counter('ws_errors');
const duration = length('3m', '4s');

export const options = {
  scenarios: {
    api_users: { executor: 'constant-vus', vus: length(10, 3), duration, exec: 'apiUser', tags: { part: 'api' } },
    spawners: {
      executor: 'ramping-vus', startVUs: 0, exec: 'spawner', tags: { part: 'spawn' },
      stages: [{ duration, target: length(5, 2) }],
    },
    agents: { executor: 'constant-vus', vus: length(5, 2), duration, exec: 'agent', tags: { part: 'acp' } },
  },
  thresholds: {
    ...HTTP_THRESHOLDS,
    ...WS_THRESHOLDS,
    errors: ['rate<0.05'],
    agent_spawn_duration: ['p(95)<3000'],
    'http_req_duration{part:api}': ['p(95)<2000'],
  },
};

export function setup() {
  return requireHealthy(http);
}

export function apiUser() {
  group('dashboard', () => {
    const responses = http.batch([
      ['GET', `${BASE_URL}/api/v1/status`, null, { headers: HEADERS, tags: { name: 'status' } }],
      ['GET', `${BASE_URL}/api/v1/agents`, null, { headers: HEADERS, tags: { name: 'agents' } }],
      ['GET', `${BASE_URL}/api/v1/tokens/metrics`, null, { headers: HEADERS, tags: { name: 'tokens' } }],
    ]);
    for (const res of responses) errors.add(!check(res, { 'dashboard call ok': (r) => r.status === 200 }));
  });
  sleep(0.2);
}

export function spawner() {
  const role = ROLES[__ITER % ROLES.length];
  const res = http.post(`${BASE_URL}/api/v1/agents`, JSON.stringify({ role, name: `fs-${__VU}-${__ITER}` }),
    { headers: HEADERS, tags: { name: 'spawn agent' } });
  spawnDuration.add(res.timings.duration);
  errors.add(!check(res, { 'agent spawned': (r) => r.status === 201 }));
  sleep(0.3);
}

export function agent() {
  const sent = {};
  let id = 0;
  const res = ws.connect(WS_URL, { headers: { 'X-API-Key': API_KEY } }, (socket) => {
    socket.on('open', () => {
      socket.setInterval(() => {
        id += 1;
        sent[id] = Date.now();
        socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'agent.heartbeat', params: { vu: __VU }, id }));
      }, 50);
      socket.setTimeout(() => socket.close(1000), 1000);
    });
    socket.on('message', (text) => {
      const msg = JSON.parse(text);
      if (sent[msg.id] !== undefined) messageLatency.add(Date.now() - sent[msg.id]);
    });
    socket.on('error', () => wsErrors.add(1));
  });
  check(res, { 'acp upgraded': (r) => r && r.status === 101 });
}

export function handleSummary(data) {
  return summaryOutputs('full-system', data);
}
