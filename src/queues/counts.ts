import type { Queue } from 'bullmq';

export interface QueueCounts {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** Job counts of a queue as /status shows them. */
export async function queueCounts(q: Queue): Promise<QueueCounts> {
  const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
  return { name: q.name, waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
}
