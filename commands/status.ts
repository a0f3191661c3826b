import { defineCommand } from './define.js';
import { utc } from '../src/format.js';

export default defineCommand({
  name: 'status',
  description: 'Exchange, Redis, queues, jobs and pause state',
  role: 'viewer',
  sideEffect: 'none',
  options: [],
  async run(ctx) {
    const [s, pause] = await Promise.all([ctx.status(), ctx.killSwitch.state()]);
    const ok = (b: boolean) => (b ? '✅ ok' : '❌ down');
    const fields = [
      { name: 'Exchange', value: `${s.exchange}: ${ok(s.exchangeOk)}`, inline: true },
      { name: 'Redis', value: ok(s.redisOk), inline: true },
      { name: 'Trading', value: pause ? `⏸ paused by ${pause.by} at ${utc(pause.at)}: ${pause.reason}` : '▶ active', inline: true },
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
    const jobs = s.schedulers.map((j) => `${j.id}: every ${j.everyMs ? `${Math.round(j.everyMs / 1000)}s` : '—'}${j.next ? `, next ${utc(j.next)}` : ''}`);
    return {
      title: 'PerpDesk status',
      fields,
      table,
      text: jobs.length ? `Jobs:\n${jobs.join('\n')}` : 'No scheduled jobs running in this deployment.',
      severity: s.exchangeOk && s.redisOk ? (pause ? 'warning' : 'success') : 'critical',
    };
  },
});
