// Task submission: a constant arrival rate of POST /api/v1/tasks with ~2 KB bodies.
import http from 'k6/http';
import { check, group } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import { BASE_URL, HEADERS, HTTP_THRESHOLDS, length, requireHealthy, summaryOutputs } from './config.js';

const submitDuration = new Trend('task_submit_duration', true);
const errors = new Rate('errors');
const PRIORITIES = ['low', 'medium', 'high', 'critical'];
const CONTEXT = 'x'.repeat(2000);

export const options = {
  scenarios: {
    submit: {
      executor: 'constant-arrival-rate',
      rate: length(50, 40), timeUnit: '1s', duration: length('3m', '4s'),
      preAllocatedVUs: 5, maxVUs: 20,
    },
  },
  thresholds: { ...HTTP_THRESHOLDS, task_submit_duration: ['p(95)<1000'], errors: ['rate<0.05'] },
};

export function setup() {
  return requireHealthy(http);
}

export default function () {
  group('submit', () => {
    const priority = PRIORITIES[__ITER % PRIORITIES.length];
    const res = http.post(`${BASE_URL}/api/v1/tasks`,
      JSON.stringify({ description: `task ${__VU}.${__ITER}`, priority, context: CONTEXT }),
      { headers: HEADERS, tags: { name: 'submit task', priority } });
    submitDuration.add(res.timings.duration);
    errors.add(!check(res, {
      'queued (201)': (r) => r.status === 201,
      'status is queued': (r) => r.json('status') === 'queued',
    }));
  });
}

export function handleSummary(data) {
  return summaryOutputs('task-submission', data);
}
