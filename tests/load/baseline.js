// Baseline: the read endpoints at a steady, low load, in phases one after another.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Rate, Trend, Counter } from 'k6/metrics';
import { BASE_URL, HEADERS, HTTP_THRESHOLDS, length, requireHealthy, summaryOutputs } from './config.js';

const errors = new Rate('errors');
const healthDuration = new Trend('health_check_duration', true);
const slowResponses = new Counter('latency_violations_20ms');

const warm = length('30s', '1s');
const steady = length('2m', '3s');

export const options = {
  scenarios: {
    warm_up: { executor: 'constant-vus', vus: 1, duration: warm, tags: { phase: 'warm_up' } },
    baseline: {
      executor: 'constant-vus', vus: length(5, 3), duration: steady, startTime: warm,
      tags: { phase: 'baseline' },
    },
  },
  thresholds: {
    ...HTTP_THRESHOLDS,
    health_check_duration: ['p(95)<100'],
    errors: ['rate<0.05'],
    latency_violations_20ms: ['count<1000'],
  },
};

export function setup() {
  return requireHealthy(http);
}

const ENDPOINTS = ['/api/v1/status', '/api/v1/agents', '/api/v1/tasks', '/api/v1/acp/status'];

export default function (data) {
  group('health', () => {
    const res = http.get(`${BASE_URL}/health`, { tags: { name: 'health' } });
    healthDuration.add(res.timings.duration);
    errors.add(!check(res, {
      'health is 200': (r) => r.status === 200,
      'service is named': (r) => r.json('service') === data.service,
    }));
  });
  group('api', () => {
    for (const path of ENDPOINTS) {
      const res = http.get(`${BASE_URL}${path}`, { headers: HEADERS, tags: { name: path }, timeout: '10s' });
      const ok = check(res, { 'status is 200': (r) => r.status === 200, 'body is JSON': (r) => r.json() !== null });
      errors.add(!ok);
      if (res.timings.duration > 20) slowResponses.add(1);
    }
  });
  sleep(0.2);
}

export function handleSummary(data) {
  return summaryOutputs('baseline', data);
}
