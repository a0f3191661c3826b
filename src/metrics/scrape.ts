/**
 * What one `/metrics` scrape answers: the process registry (src/metrics/registry.ts), BullMQ's own Prometheus export
 * of the queues this process knows (job counts by state, completed and failed totals) and the age of each queue's
 * oldest waiting job, which BullMQ's export lacks. Queue figures are read from Redis at scrape time, so every
 * replica reports the same shared queues; a dashboard takes `max by (queue, state)`.
 */
import type { Queue } from 'bullmq';
import { Gauge, Registry } from 'prom-client';
import { registry } from './registry.js';

export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** A queue read that takes longer than this (Redis down) is left out of the scrape rather than stall it. */
const QUEUE_READ_TIMEOUT_MS = 2_000;

/**
 * Age of the oldest job ready to run but not taken. A job becomes ready at its creation, or when its delay (a
 * scheduler's next run, a retry's backoff, a parked alert drainer) ran out; BullMQ keeps the delay relative to the
 * job's last start, so for a retried or parked job the age can read long by that attempt's run time.
 */
async function oldestWaitingSeconds(q: Queue, now: number): Promise<number> {
  const [job] = await q.getWaiting(0, 0);
  if (!job) return 0;
  const readyAt = Math.max(job.timestamp, job.processedOn ?? 0) + (job.delay ?? 0);
  return Math.max(0, now - readyAt) / 1000;
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('queue read timed out')), QUEUE_READ_TIMEOUT_MS).unref()),
  ]);
}

/**
 * Joins Prometheus text expositions so each metric family appears once: BullMQ's export of every queue repeats the
 * `# HELP` and `# TYPE` lines, which a Prometheus server rejects the second time.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { meta: [], samples: [] }));
    return f;
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const f = family(meta[2]!);
        if (!f.meta.some((m) => m.startsWith(`# ${meta[1]} `))) f.meta.push(line);
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
      if (name) family(name).samples.push(line);
    }
  }
  return [...families.values()].map((f) => [...f.meta, ...f.samples].join('\n')).join('\n') + (families.size ? '\n' : '');
}

/** The scrape of a process whose queues are `queues()` (asked at every scrape: some are created after the server). */
export function scrapeSource(queues: () => readonly Queue[]): MetricsSource {
  const own = new Registry();
  const distinct = (): Queue[] => [...new Map(queues().map((q) => [q.name, q])).values()];
  new Gauge({
    name: 'perpdesk_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting to be taken, by queue (0 when none waits)',
    labelNames: ['queue'] as const,
    registers: [own],
    async collect() {
      this.reset();
      const now = Date.now();
      await Promise.all(distinct().map(async (q) => {
        const age = await withTimeout(oldestWaitingSeconds(q, now)).catch(() => null);
        if (age !== null) this.set({ queue: q.name }, age);
      }));
    },
  });
  return {
    contentType: registry.contentType,
    async metrics() {
      const exports = await Promise.all(distinct().map((q) => withTimeout(q.exportPrometheusMetrics()).catch(() => '')));
      const [process, mine] = await Promise.all([registry.metrics(), own.metrics()]);
      return `${process}\n${mine}\n${mergeExpositions(exports)}`;
    },
  };
}
