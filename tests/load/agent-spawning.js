// Agent spawning: POST /api/v1/agents for every role, ramping up and down.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Rate, Trend, Counter } from 'k6/metrics';
import { BASE_URL, HEADERS, HTTP_THRESHOLDS, ROLES, length, requireHealthy, summaryOutputs } from './config.js';

const spawnDuration = new Trend('agent_spawn_duration', true);
const spawned = new Counter('agents_spawned');
const errors = new Rate('errors');

export const options = {
  scenarios: {
    spawn: {
      executor: 'ramping-vus',
      startVUs: 1,
      stages: [
        { duration: length('1m', '2s'), target: length(10, 4) },
        { duration: length('2m', '2s'), target: length(10, 4) },
        { duration: length('30s', '1s'), target: 0 },
      ],
      tags: { workload: 'spawn' },
    },
  },
  thresholds: { ...HTTP_THRESHOLDS, agent_spawn_duration: ['p(95)<3000'], errors: ['rate<0.05'] },
};

export function setup() {
  return requireHealthy(http);
}

export default function () {
  const role = ROLES[(__VU + __ITER) % ROLES.length];
  group('spawn', () => {
    const body = JSON.stringify({ role, name: `load-${role}-${__VU}-${__ITER}`, config: { model: 'standard', max_tokens: 4096 } });
    const res = http.post(`${BASE_URL}/api/v1/agents`, body, { headers: HEADERS, tags: { name: 'spawn agent', role } });
    spawnDuration.add(res.timings.duration);
    const ok = check(res, {
      'spawned (201)': (r) => r.status === 201,
      'has an id': (r) => typeof r.json('id') === 'string',
    });
    errors.add(!ok);
    if (ok) spawned.add(1);
  });
  group('list', () => {
    const res = http.get(`${BASE_URL}/api/v1/agents`, { headers: HEADERS, tags: { name: 'list agents' } });
    errors.add(!check(res, { 'agents listed': (r) => r.status === 200 && r.json('agents.#') >= 1 }));
  });
  sleep(0.1);
}

export function handleSummary(data) {
  return summaryOutputs('agent-spawning', data);
}
