// Shared settings of the load suite. Every script imports from here; the environment
// chooses the target (CCA_HTTP_URL, CCA_WS_URL, CCA_API_KEY) and the length (QUICK_MODE).

export const BASE_URL = __ENV.CCA_HTTP_URL || 'http://localhost:9200';
export const WS_URL = __ENV.CCA_WS_URL || 'ws://localhost:9100';
export const API_KEY = __ENV.CCA_API_KEY || 'test-api-key';
export const QUICK = __ENV.QUICK_MODE === 'true';
export const RESULTS_DIR = __ENV.RESULTS_DIR || 'results';

export const HEADERS = { 'Content-Type': 'application/json', 'X-API-Key': API_KEY };

// The seed thresholds every script starts from.
export const HTTP_THRESHOLDS = {
  http_req_duration: ['p(95)<2000', 'p(99)<5000'],
  http_req_failed: ['rate<0.01'],
};
export const WS_THRESHOLDS = {
  ws_connecting: ['p(95)<1000'],
  ws_message_latency: ['p(95)<500'],
};

// A duration for the full run and one for QUICK_MODE.
export function length(full, quick) {
  return QUICK ? quick : full;
}

export const ROLES = ['coordinator', 'frontend', 'backend', 'dba', 'devops', 'security', 'qa'];

// setup() of every script: the service must be healthy, or the run stops here.
export function requireHealthy(http) {
  const res = http.get(`${BASE_URL}/health`, { tags: { name: 'health' } });
  if (res.status !== 200) {
    throw new Error(`service not healthy at ${BASE_URL}: status ${res.status} ${res.error}`);
  }
  return { startedAt: new Date().toISOString(), service: res.json('service') };
}

function fmt(v) {
  if (v === undefined || v === null) return '-';
  return typeof v === 'number' ? v.toFixed(2) : String(v);
}

// handleSummary of every script: a JSON file and a text report in the results folder, and
// the text on stdout. The report is built here (no remote jslib).
export function summaryOutputs(name, data) {
  const lines = [`${name}: ${data.state && data.state.testRunDurationMs ? (data.state.testRunDurationMs / 1000).toFixed(1) : '?'} s`];
  const names = Object.keys(data.metrics).sort();
  for (const metric of names) {
    const m = data.metrics[metric];
    const v = m.values || {};
    let text;
    if (m.type === 'trend') text = `avg=${fmt(v.avg)} p(95)=${fmt(v['p(95)'])} max=${fmt(v.max)}`;
    else if (m.type === 'rate') text = `rate=${fmt(v.rate)} (${v.passes}/${v.passes + v.fails})`;
    else if (m.type === 'counter') text = `count=${fmt(v.count)} rate=${fmt(v.rate)}/s`;
    else text = `value=${fmt(v.value)}`;
    const marks = m.thresholds
      ? ' ' + Object.entries(m.thresholds).map(([t, r]) => `${r.ok ? 'ok' : 'FAILED'}:${t}`).join(' ')
      : '';
    lines.push(`  ${metric.padEnd(28)} ${text}${marks}`);
  }
  const text = lines.join('\n') + '\n';
  return {
    stdout: text,
    [`${RESULTS_DIR}/${name}-summary.json`]: JSON.stringify(data, null, 2),
    [`${RESULTS_DIR}/${name}-summary.txt`]: text,
  };
}
