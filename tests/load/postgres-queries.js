// PostgreSQL-backed endpoints: status of the pool and memory search, read-heavy.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import { BASE_URL, HEADERS, HTTP_THRESHOLDS, length, requireHealthy, summaryOutputs } from './config.js';

const queryDuration = new Trend('postgres_query_duration', true);
const errors = new Rate('errors');
const TERMS = ['deploy', 'rollback', 'schema', 'index', 'vacuum'];

export const options = {
  scenarios: {
    reads: { executor: 'constant-vus', vus: length(10, 4), duration: length('2m', '4s'), tags: { store: 'postgres' } },
  },
  thresholds: { ...HTTP_THRESHOLDS, postgres_query_duration: ['p(95)<500'], errors: ['rate<0.05'] },
};

export function setup() {
  return requireHealthy(http);
}

export default function () {
  group('pool', () => {
    const res = http.get(`${BASE_URL}/api/v1/postgres/status`, { headers: HEADERS, tags: { name: 'postgres status' } });
    errors.add(!check(res, {
      'postgres connected': (r) => r.json('status') === 'connected',
      'pool has idle connections': (r) => r.json('pool.idle') > 0,
    }));
  });
  group('search', () => {
    const term = TERMS[__ITER % TERMS.length];
    const res = http.post(`${BASE_URL}/api/v1/memory/search`, JSON.stringify({ query: term, limit: 10 }),
      { headers: HEADERS, tags: { name: 'memory search' } });
    queryDuration.add(res.timings.duration);
    errors.add(!check(res, { 'search answered': (r) => r.status === 200 && r.json('results.0.score') > 0 }));
  });
  sleep(0.1);
}

export function handleSummary(data) {
  return summaryOutputs('postgres-queries', data);
}
