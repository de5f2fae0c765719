// Redis-backed endpoints: publish broadcasts and read the Redis status.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { BASE_URL, HEADERS, HTTP_THRESHOLDS, length, requireHealthy, summaryOutputs } from './config.js';

const publishDuration = new Trend('redis_publish_duration', true);
const delivered = new Counter('messages_delivered');
const errors = new Rate('errors');

export const options = {
  scenarios: {
    publishers: { executor: 'constant-vus', vus: length(10, 4), duration: length('2m', '4s'), tags: { store: 'redis' } },
  },
  thresholds: { ...HTTP_THRESHOLDS, redis_publish_duration: ['p(95)<500'], errors: ['rate<0.05'] },
};

export function setup() {
  return requireHealthy(http);
}

export default function () {
  group('publish', () => {
    const res = http.post(`${BASE_URL}/api/v1/pubsub/broadcast`,
      JSON.stringify({ channel: 'agents', message: { from: `vu-${__VU}`, seq: __ITER } }),
      { headers: HEADERS, tags: { name: 'broadcast' } });
    publishDuration.add(res.timings.duration);
    const ok = check(res, { 'broadcast delivered': (r) => r.status === 200 && r.json('delivered') >= 1 });
    errors.add(!ok);
    if (ok) delivered.add(res.json('delivered'));
  });
  group('status', () => {
    const res = http.get(`${BASE_URL}/api/v1/redis/status`, { headers: HEADERS, tags: { name: 'redis status' } });
    errors.add(!check(res, { 'redis connected': (r) => r.json('status') === 'connected' }));
  });
  sleep(0.1);
}

export function handleSummary(data) {
  return summaryOutputs('redis-pubsub', data);
}
