// Runs the contract's client code and curl examples against a started server and checks every answer against the
// contract's shapes. BASE (http://host:port) and ADMIN_KEY in the environment; run.sh starts a server and sets them.
// Prints a line per check and ends with "N passed, N failed"; exits 1 if any failed.
'use strict';
const http = require('node:http');
const { execFileSync } = require('node:child_process');
const { browser } = require('./browser.js');

const BASE = process.env.BASE;
const ADMIN_KEY = process.env.ADMIN_KEY;
if (!BASE || !ADMIN_KEY) throw new Error('set BASE and ADMIN_KEY (run.sh does)');

let passed = 0, failed = 0;
const failures = [];
function check(name, ok, detail) {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; failures.push(name); console.log(`FAIL ${name}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`); }
}

// The contract's types: a field the contract shows is checked for its type; fields the contract does not show are
// listed (the README documents each addition), not failed.
const now = () => Math.floor(Date.now() / 1000);
const types = {
  string: v => typeof v === 'string',
  int: v => Number.isInteger(v),
  number: v => typeof v === 'number',
  object: v => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: v => Array.isArray(v),
  unix: v => Number.isInteger(v) && Math.abs(v - now()) < 600,
  iso: v => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v),
};
function shape(name, value, spec, extrasAllowed = []) {
  if (!types.object(value)) return check(`${name} is an object`, false, value);
  for (const [field, type] of Object.entries(spec)) {
    const optional = type.endsWith('?');
    const t = optional ? type.slice(0, -1) : type;
    if (optional && value[field] === undefined) continue;
    check(`${name}.${field} is ${t}`, types[t](value[field]), value[field]);
  }
  const extras = Object.keys(value).filter(k => !(k in spec) && !extrasAllowed.includes(k));
  if (extras.length) console.log(`     (${name} also has ${extras.join(', ')})`);
}
const errorShape = (name, body, code) => {
  shape(name, body, { error: 'object' }, ['tool', 'status']);
  shape(`${name}.error`, body.error, { code: 'string', message: 'string' }, ['argument', 'details']);
  check(`${name}.error.code is ${code}`, body.error?.code === code, body.error?.code);
};

async function api(method, path, key, body) {
  const response = await fetch(new URL(path, BASE), {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

// The contract's curl examples, as written but for the host and the key placeholders.
function curl(example, key) {
  const command = example.replaceAll('https://api.agent-corex.com', BASE).replaceAll('ADMIN_KEY', key).replaceAll('YOUR_API_KEY', key)
    .replace(/^curl /, 'curl -s -w "\\n%{http_code}" ');
  const out = execFileSync('bash', ['-c', command], { encoding: 'utf8' });
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), body: JSON.parse(out.slice(0, cut)) };
}

// A contract example the server refuses: its status, and the error in the contract's shape.
function refused(name, example, key, status, code) {
  const answer = curl(example, key);
  check(`curl ${name} is ${status}`, answer.status === status, answer.status);
  errorShape(name, answer.body, code);
  return answer.body;
}

const submitted = async (key, tool, args, extra = {}) => {
  const r = await api('POST', '/jobs/submit', key, { tool, arguments: args, ...extra });
  if (r.status !== 202) throw new Error(`submit ${tool}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
const until = async (what, probe, ms = 30000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
};

async function main() {
  // Keys of each plan; each run makes its own, so its jobs and webhooks are its own.
  const made = async plan => (await api('POST', '/api_keys', ADMIN_KEY, { name: `contract client ${plan}`, plan })).body.api_key;
  const pro = await made('pro');
  const free = await made('free');
  const page = browser(BASE, pro);

  // ---- Webhooks: a receiver, registered as the contract's curl does it ----
  const received = [];
  const receiver = http.createServer((req, res) => {
    let data = '';
    req.on('data', c => { data += c; });
    req.on('end', () => { received.push({ headers: req.headers, body: JSON.parse(data) }); res.writeHead(200).end(); });
  });
  await new Promise(r => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${receiver.address().port}/webhooks/jobs`;

  const curlWebhook = curl(`curl -X POST "https://api.agent-corex.com/webhooks" \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "url": "https://your-domain.com/webhooks/jobs",
    "events": ["job.completed", "job.failed"]
  }'`, await made('pro'));
  check('curl POST /webhooks (the contract\'s example) is 201', curlWebhook.status === 201, curlWebhook);
  shape('webhook registration', curlWebhook.body, { webhook_id: 'string', url: 'string', events: 'array', secret: 'string', created_at: 'unix' });
  const hook = await api('POST', '/webhooks', pro, { url: receiverUrl, events: ['job.completed', 'job.failed'] });
  check('POST /webhooks with a local receiver is 201', hook.status === 201, hook);

  // ---- The contract's curl examples for the execution endpoints ----
  const execSimple = refused('execute_tool of a tool the server has not', `curl -X POST "https://api.agent-corex.com/execute_tool" \\
  -H "Authorization: Bearer ADMIN_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "tool": "create_pull_request",
    "arguments": {
      "repository": "owner/repo",
      "title": "Fix critical bug",
      "from_branch": "hotfix/bug",
      "to_branch": "main",
      "body": "This PR fixes issue #123"
    }
  }'`, ADMIN_KEY, 404, 'TOOL_NOT_FOUND');
  check('execute_tool error carries tool and status "error"', execSimple.tool === 'create_pull_request' && execSimple.status === 'error', execSimple);

  const deployExample = refused('execute_tool "With Timeout" of a tool the server has not', `curl -X POST "https://api.agent-corex.com/execute_tool" \\
  -H "Authorization: Bearer ADMIN_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "tool": "deploy_to_aws",
    "arguments": {
      "environment": "production",
      "service": "api",
      "version": "1.2.3"
    },
    "timeout_ms": 60000
  }'`, ADMIN_KEY, 404, 'TOOL_NOT_FOUND');

  // The same request on a tool the server has, made to run past its timeout_ms.
  const execTimeout = await api('POST', '/execute_tool', ADMIN_KEY, { tool: 'wait', arguments: { duration_ms: 5000 }, timeout_ms: 500 });
  check('execute_tool over its timeout_ms is 504', execTimeout.status === 504, execTimeout.status);
  errorShape('execute_tool timeout', execTimeout.body, 'EXECUTION_TIMEOUT');
  check('execute_tool timeout: status "timeout", message as the contract words it',
    execTimeout.body.status === 'timeout' && execTimeout.body.error.message === 'Tool execution exceeded 500ms timeout', execTimeout.body);

  const execOk = await api('POST', '/execute_tool', ADMIN_KEY, { tool: 'echo', arguments: { message: 'hi' } });
  check('execute_tool success is 200', execOk.status === 200, execOk);
  shape('execute_tool success', execOk.body, { tool: 'string', status: 'string', result: 'object', execution_time_ms: 'int', tokens_used: 'object' });
  shape('execute_tool tokens_used', execOk.body.tokens_used, { input: 'int', output: 'int' });
  check('execute_tool success status is "success"', execOk.body.status === 'success', execOk.body.status);

  const execBad = await api('POST', '/execute_tool', ADMIN_KEY, { tool: 'echo', arguments: {} });
  check('execute_tool missing argument is 400', execBad.status === 400, execBad.status);
  errorShape('execute_tool missing argument', execBad.body, 'INVALID_ARGUMENTS');
  check('execute_tool missing argument names it in error.argument', execBad.body.error.argument === 'message', execBad.body.error);

  const execFail = await api('POST', '/execute_tool', ADMIN_KEY, { tool: 'fail', arguments: { message: 'boom' } });
  check('execute_tool of a failing tool is 500', execFail.status === 500, execFail.status);
  errorShape('execute_tool failure', execFail.body, 'EXECUTION_ERROR');

  const execNotAdmin = await api('POST', '/execute_tool', pro, { tool: 'echo', arguments: { message: 'hi' } });
  check('execute_tool with a non-admin key is 403 (the contract: admin only)', execNotAdmin.status === 403, execNotAdmin.status);
  errorShape('execute_tool non-admin', execNotAdmin.body, 'FORBIDDEN');

  refused('jobs/submit of a tool the server has not', `curl -X POST "https://api.agent-corex.com/jobs/submit" \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "tool": "deploy_to_aws",
    "arguments": {
      "environment": "production",
      "service": "api",
      "version": "1.2.3"
    }
  }'`, pro, 404, 'TOOL_NOT_FOUND');

  refused('GET an unknown job', `curl "https://api.agent-corex.com/jobs/job_abc123def456" \\
  -H "Authorization: Bearer YOUR_API_KEY"`, pro, 404, 'JOB_NOT_FOUND');
  const deleteUnknown = refused('DELETE an unknown job', `curl -X DELETE "https://api.agent-corex.com/jobs/job_abc123def456" \\
  -H "Authorization: Bearer YOUR_API_KEY"`, pro, 404, 'JOB_NOT_FOUND');
  check('JOB_NOT_FOUND message as the contract words it', deleteUnknown.error.message === 'Job job_abc123def456 does not exist', deleteUnknown.error.message);

  // ---- completed, through pollJobWithBackoff, executeAndWait, executeWithTimeout and the stream ----
  const jobSpec = { job_id: 'string', status: 'string', tool: 'string', created_at: 'unix' };
  const sub = await submitted(pro, 'echo', { message: 'hello' });
  shape('submit response', sub, { ...jobSpec, estimated_duration_ms: 'int' });
  check('submit status is "queued"', sub.status === 'queued', sub.status);
  check('job_id looks like job_...', /^job_[a-z0-9]+$/.test(sub.job_id), sub.job_id);
  const completed = await page.pollJobWithBackoff(sub.job_id);
  check('pollJobWithBackoff: echo ends completed', completed.status === 'completed', completed);
  shape('completed job', completed, { ...jobSpec, started_at: 'unix', completed_at: 'unix', result: 'object', execution_time_ms: 'int' }, ['tokens_used']);
  check('completed job result is the tool\'s', completed.result?.message === 'hello', completed.result);
  check('created_at is the same number in the submit answer and in GET', completed.created_at === sub.created_at, [sub.created_at, completed.created_at]);
  await page.executeAndWait(sub.job_id);
  check('executeWithTimeout returns a completed job', (await page.executeWithTimeout(sub.job_id, 60000)).status === 'completed');

  const streamed = await submitted(pro, 'wait', { duration_ms: 1500, steps: 3 });
  const header = browser(BASE, pro, { streamAuth: 'header' });
  const viaHeader = await header.pollJobWithStream(streamed.job_id);
  check('pollJobWithStream (Authorization header): resolves with the completed job', viaHeader.status === 'completed' && viaHeader.result?.waited_ms === 1500, viaHeader);
  shape('streamed completed job', viaHeader, { ...jobSpec, started_at: 'unix', completed_at: 'unix', result: 'object', execution_time_ms: 'int' }, ['tokens_used']);
  const query = browser(BASE, pro, { streamAuth: 'query' });
  const streamedFail = await submitted(pro, 'fail', { message: 'streamed failure' });
  const viaQuery = await query.pollJobWithStream(streamedFail.job_id);
  check('pollJobWithStream (?access_token=): resolves with the failed job', viaQuery.status === 'failed' && viaQuery.error?.code === 'EXECUTION_ERROR', viaQuery);
  // The contract's own code, in a browser, sends no key at all: the server answers 401 and EventSource errors.
  const bare = browser(BASE, pro, { streamAuth: 'none' });
  const unauthenticated = await bare.pollJobWithStream(sub.job_id).then(() => 'resolved', e => e);
  check('pollJobWithStream without a key rejects (401, documented: the README adds ?access_token=)', unauthenticated?.code === 401, unauthenticated?.code ?? unauthenticated);

  // ---- failed ----
  const failing = await submitted(pro, 'fail', { message: 'no permission', code: 'INSUFFICIENT_PERMISSIONS' });
  const failedJob = await page.pollJobWithBackoff(failing.job_id);
  check('pollJobWithBackoff: fail ends failed', failedJob.status === 'failed', failedJob.status);
  shape('failed job', failedJob, { ...jobSpec, started_at: 'unix', completed_at: 'unix', error: 'object' }, ['execution_time_ms']);
  shape('failed job error', failedJob.error, { code: 'string', message: 'string', details: 'object' });
  check('failed job error.message is the tool\'s', failedJob.error.message === 'no permission', failedJob.error);
  await page.executeAndWait(failing.job_id);

  // ---- timeout ----
  const slow = await submitted(pro, 'wait', { duration_ms: 5000 }, { timeout_ms: 300 });
  const timedOut = await page.pollJobWithBackoff(slow.job_id);
  check('pollJobWithBackoff: a job past its timeout_ms ends timeout', timedOut.status === 'timeout', timedOut.status);
  shape('timeout job', timedOut, { ...jobSpec, started_at: 'unix', completed_at: 'unix', error: 'object' }, ['execution_time_ms']);
  check('timeout job error.code is EXECUTION_TIMEOUT', timedOut.error?.code === 'EXECUTION_TIMEOUT', timedOut.error);
  await page.executeAndWait(slow.job_id);
  // pollJobWithStream resolves on completed and failed only: on a timeout the stream ends after the final state, the
  // EventSource's reconnect gets 204 and the contract's onerror rejects (its code's choice, not the server's).
  const streamTimeout = await header.pollJobWithStream(slow.job_id).then(() => 'resolved', e => e);
  check('pollJobWithStream on a timeout job rejects (the contract\'s code waits for completed or failed only)', streamTimeout?.type === 'error', streamTimeout);
  // executeWithTimeout's list of final states leaves out 'timeout': on such a job it polls until its own limit.
  const limitHit = await page.executeWithTimeout(slow.job_id, 1).then(j => j, e => e);
  check('executeWithTimeout on a timeout job: the contract\'s code does not stop on "timeout" (client-side)', limitHit instanceof Error, limitHit);

  // ---- running with progress; cancel refusals; force cancel ----
  const running = await submitted(pro, 'wait', { duration_ms: 4000, steps: 4 }, { timeout_ms: 60000 });
  const progressed = await until('progress', async () => {
    const j = await page.getJob(running.job_id);
    return j.status === 'running' && j.progress?.percentage > 0 ? j : null;
  });
  shape('running job', progressed, { ...jobSpec, started_at: 'unix', progress: 'object' });
  shape('running job progress', progressed.progress, { current_step: 'string', total_steps: 'int', percentage: 'number' });
  check('running progress total_steps is the tool\'s', progressed.progress.total_steps === 4, progressed.progress);
  const refuse = await api('DELETE', `/jobs/${running.job_id}`, pro);
  check('DELETE a running job is 400', refuse.status === 400, refuse.status);
  errorShape('DELETE running', refuse.body, 'CANNOT_CANCEL_RUNNING');
  check('CANNOT_CANCEL_RUNNING message as the contract words it', refuse.body.error.message === 'Cannot cancel a job that is already running', refuse.body.error.message);
  const forced = await api('DELETE', `/jobs/${running.job_id}?force=true`, pro);
  check('DELETE ?force=true a running job is 200 canceled', forced.status === 200 && forced.body.status === 'canceled', forced);

  // ---- queued with position_in_queue; canceled before it runs (the free plan runs one at a time) ----
  const first = await submitted(free, 'wait', { duration_ms: 3000 });
  const second = await submitted(free, 'wait', { duration_ms: 10 });
  const third = await submitted(free, 'wait', { duration_ms: 10 });
  const queued = await browser(BASE, free).getJob(third.job_id);
  shape('queued job', queued, { ...jobSpec, position_in_queue: 'int' });
  check('queued job status is "queued"', queued.status === 'queued', queued.status);
  check('queued job position_in_queue is after the second\'s', queued.position_in_queue > (await browser(BASE, free).getJob(second.job_id)).position_in_queue, queued);
  const cancel = await api('DELETE', `/jobs/${third.job_id}`, free);
  check('DELETE a queued job is 200', cancel.status === 200, cancel.status);
  shape('cancel response', cancel.body, { job_id: 'string', status: 'string', message: 'string' });
  check('cancel response as the contract shows it', cancel.body.status === 'canceled' && cancel.body.message === 'Job canceled successfully' && cancel.body.job_id === third.job_id, cancel.body);
  const canceled = await browser(BASE, free).pollJobWithBackoff(third.job_id);
  check('pollJobWithBackoff: a canceled job ends canceled', canceled.status === 'canceled', canceled.status);
  shape('canceled job', canceled, { ...jobSpec, completed_at: 'unix' });
  await browser(BASE, free).executeAndWait(third.job_id);
  check('executeWithTimeout returns a canceled job', (await browser(BASE, free).executeWithTimeout(third.job_id, 60000)).status === 'canceled');
  const again = await api('DELETE', `/jobs/${third.job_id}`, free);
  check('DELETE a finished job is 400 JOB_ALREADY_FINISHED', again.status === 400 && again.body.error?.code === 'JOB_ALREADY_FINISHED', again);

  // ---- Rate limits: the contract's headers, then 429 (the free plan: 10 a minute; 3 used above) ----
  let last;
  const remaining = [];
  for (let i = 0; i < 7; i++) {
    last = await api('POST', '/jobs/submit', free, { tool: 'echo', arguments: { message: `r${i}` } });
    remaining.push(Number(last.headers.get('x-ratelimit-remaining')));
  }
  check('submit answers carry X-RateLimit-Limit: 10 (free)', last.headers.get('x-ratelimit-limit') === '10', last.headers.get('x-ratelimit-limit'));
  check('X-RateLimit-Remaining counts down to 0', remaining.join() === '6,5,4,3,2,1,0', remaining);
  const reset = Number(last.headers.get('x-ratelimit-reset'));
  check('X-RateLimit-Reset is Unix seconds within the minute', Number.isInteger(reset) && reset > now() - 1 && reset <= now() + 61, reset);
  const over = await api('POST', '/jobs/submit', free, { tool: 'echo', arguments: { message: 'over' } });
  check('over the limit: 429', over.status === 429, over.status);
  errorShape('over the limit', over.body, 'RATE_LIMIT_EXCEEDED');
  check('429 carries Retry-After and the X-RateLimit-* headers', !!over.headers.get('retry-after') && over.headers.get('x-ratelimit-remaining') === '0', Object.fromEntries(over.headers));

  // ---- Listing: the contract's curl examples, the filters, getExecutionMetrics ----
  await until('the forced cancel and the first free job to end', async () =>
    ['canceled'].includes((await page.getJob(running.job_id)).status));
  const listExample = curl(`curl "https://api.agent-corex.com/jobs" \\
  -H "Authorization: Bearer YOUR_API_KEY"`, pro);
  check('curl GET /jobs is 200', listExample.status === 200, listExample.status);
  shape('job listing', listExample.body, { jobs: 'array', pagination: 'object' });
  shape('job listing pagination', listExample.body.pagination, { limit: 'int', offset: 'int', total: 'int' });
  check('GET /jobs defaults: limit 20, offset 0', listExample.body.pagination.limit === 20 && listExample.body.pagination.offset === 0, listExample.body.pagination);
  for (const j of listExample.body.jobs) shape(`listed ${j.status} job`, j, { job_id: 'string', tool: 'string', status: 'string', created_at: 'unix', started_at: 'unix?', completed_at: 'unix?' });
  const failedList = curl(`curl "https://api.agent-corex.com/jobs?status=failed&limit=50" \\
  -H "Authorization: Bearer YOUR_API_KEY"`, pro);
  check('curl GET /jobs?status=failed&limit=50 lists only failed jobs', failedList.status === 200 && failedList.body.jobs.length === 2
    && failedList.body.jobs.every(j => j.status === 'failed') && failedList.body.pagination.limit === 50 && failedList.body.pagination.total === 2, failedList.body);
  const runningList = curl(`curl "https://api.agent-corex.com/jobs?status=running&limit=100" \\
  -H "Authorization: Bearer YOUR_API_KEY"`, pro);
  check('curl GET /jobs?status=running&limit=100 is 200, every job running', runningList.status === 200 && runningList.body.jobs.every(j => j.status === 'running'), runningList.body);
  for (const status of ['queued', 'running', 'completed', 'failed', 'canceled', 'timeout', 'all']) {
    const r = await api('GET', `/jobs?status=${status}`, pro);
    check(`GET /jobs?status=${status} is 200 and filters`, r.status === 200 && r.body.jobs.every(j => status === 'all' || j.status === status), r.body);
  }
  const paged = await api('GET', '/jobs?limit=2&offset=1', pro);
  check('GET /jobs?limit=2&offset=1 pages', paged.status === 200 && paged.body.jobs.length === 2 && paged.body.pagination.offset === 1 && paged.body.pagination.limit === 2, paged.body.pagination);
  const tooMany = await api('GET', '/jobs?limit=101', pro);
  check('GET /jobs?limit=101 (over the max) is 400 INVALID_ARGUMENTS on limit', tooMany.status === 400 && tooMany.body.error?.argument === 'limit', tooMany.body);
  const metrics = await page.getExecutionMetrics('wait');
  const waits = (await page.listJobs({ limit: 100, tool: 'wait' }));
  check('listJobs({limit, tool}) lists only that tool', waits.length === 3 && waits.every(j => j.tool === 'wait'), waits.map(j => j.tool));
  check('getExecutionMetrics(wait): 3 jobs, 1 completed', metrics.totalJobs === 3 && metrics.successRate === 1 / 3 && metrics.failureRate === 0 && Number.isFinite(metrics.avgExecutionTime), metrics);

  // ---- The webhook payload, as the contract shows it ----
  const deliveries = await until('webhook deliveries', async () => received.length >= 4 ? received : null);
  for (const { body, headers } of deliveries) {
    shape(`webhook ${body.event} payload`, body, { event: 'string', timestamp: 'iso', job: 'object' });
    shape(`webhook ${body.event} job`, body.job, { job_id: 'string', status: 'string', tool: 'string' },
      ['result', 'error', 'created_at', 'started_at', 'completed_at', 'execution_time_ms', 'tokens_used']);
    check(`webhook ${body.event} status matches the event`, `job.${body.job.status}` === body.event, body);
    check(`webhook ${body.event} carries result or error`, body.event === 'job.completed' ? types.object(body.job.result) : types.object(body.job.error), body.job);
    check(`webhook ${body.event} is JSON`, headers['content-type']?.startsWith('application/json'), headers['content-type']);
  }
  const listed = new Map((await page.listJobs({ limit: 100 })).map(j => [j.job_id, j]));
  check('webhook job times are those GET /jobs lists', deliveries.every(({ body }) => listed.get(body.job.job_id)?.created_at === body.job.created_at
    && listed.get(body.job.job_id)?.completed_at === body.job.completed_at), deliveries.map(d => d.body.job));
  check('webhook events are only those registered', deliveries.every(d => ['job.completed', 'job.failed'].includes(d.body.event)), deliveries.map(d => d.body.event));

  receiver.close();
  console.log(`\n${passed} passed, ${failed} failed`);
  if (failed) { console.log(`failed: ${failures.join('; ')}`); process.exitCode = 1; }
}

main().catch(error => { console.error(error); console.log(`\n${passed} passed, ${failed + 1} failed`); process.exitCode = 1; });
