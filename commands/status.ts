import { defineCommand } from './define.js';
import { utc } from '../src/format.js';

/** How long one part of the status may take before it counts as not answering. */
const PART_TIMEOUT_MS = 2000;

function bounded<T>(p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), PART_TIMEOUT_MS)));
  return Promise.race([p.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

export default defineCommand({
  name: 'status',
  description: 'Exchange, Redis, queues, jobs and pause state',
  role: 'viewer',
  sideEffect: 'none',
  options: [],
  async run(ctx) {
    // During an outage each part answers within its bound, so /status says what is down instead of failing.
    const [s, pause] = await Promise.all([
      bounded(ctx.status()),
      bounded(ctx.killSwitch.state()),
    ]);
    if (s === undefined) {
      return {
        title: 'PerpDesk status',
        fields: [
          { name: 'Exchange', value: `${ctx.exchange.name}: ❔ unknown`, inline: true },
          { name: 'Redis', value: '❌ down (no answer)', inline: true },
          { name: 'Trading', value: '❔ unknown while Redis is down', inline: true },
        ],
        text: 'Redis does not answer: approvals, alerts and jobs wait until it is back.',
        severity: 'critical',
      };
    }
    const ok = (b: boolean) => (b ? '✅ ok' : '❌ down');
    const fields = [
      { name: 'Exchange', value: `${s.exchange}: ${ok(s.exchangeOk)}`, inline: true },
      { name: 'Redis', value: ok(s.redisOk), inline: true },
      { name: 'Trading', value: pause === undefined ? '❔ unknown (Redis does not answer)' : pause ? `⏸ paused by ${pause.by} at ${utc(pause.at)}: ${pause.reason}` : '▶ active', inline: true },
      { name: 'Transports', value: s.transports.join(', ') || 'none', inline: true },
      { name: 'Up since', value: utc(s.startedAt), inline: true },
    ];
    const table = s.queues.length
      ? {
          headers: ['Queue', 'Waiting', 'Active', 'Delayed', 'Failed'],
          rows: s.queues.map((q) => [q.name, String(q.waiting), String(q.active), String(q.delayed), String(q.failed)]),
          align: ['left', 'right', 'right', 'right', 'right'] as ('left' | 'right')[],
        }
      : undefined;
    const beats = s.heartbeats;
    const jobs = s.schedulers.map((j) => {
      const run = beats?.jobs[j.id];
      return `${j.id}: every ${j.everyMs ? `${Math.round(j.everyMs / 1000)}s` : '—'}${j.next ? `, next ${utc(j.next)}` : ''}${run ? `, last run ${utc(run.at)} (${run.outcome})` : ', no run yet'}`;
    });
    // The dead man's switch's view: each process with its last beat, the silent ones marked.
    const procs = (beats?.processes ?? []).map((p) => `${p.silent ? '❌ silent' : '✅'} ${p.role} pid ${p.pid} on ${p.host}${p.id === beats?.self ? ' (this one)' : ''}: last beat ${utc(p.at)}`);
    const text = [
      procs.length ? `Processes:\n${procs.join('\n')}` : null,
      jobs.length ? `Jobs:\n${jobs.join('\n')}` : 'No scheduled jobs running in this deployment.',
    ].filter((x): x is string => x !== null).join('\n\n');
    return {
      title: 'PerpDesk status',
      fields,
      table,
      text,
      severity: s.exchangeOk && s.redisOk && pause !== undefined ? (pause ? 'warning' : 'success') : 'critical',
    };
  },
});
