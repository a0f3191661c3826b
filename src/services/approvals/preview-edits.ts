/**
 * Preview edits that must travel to the process holding the chat transports. A process without them (a worker, a
 * replica that is not the leader) places orders too; when an approval changes state there, the edit of its
 * preview messages is queued here and done by the leader, which re-reads the approval and renders what is stored
 * then. Durable like the alerts: a leader that is down or changing edits it when it is back.
 */
import { Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { QUEUES } from '../../queues/names.js';
import { createRedis } from '../../queues/redis.js';
import { LazyQueue } from '../../queues/lazy-queue.js';
import type { ApprovalStore } from './store.js';
import type { ApprovalRecord } from './types.js';

const EditJob = z.object({ approvalId: z.string().min(1).max(40) });

const JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 7 * 86_400 },
};

export class PreviewEditQueue extends LazyQueue {
  constructor(connection: Redis, prefix: string) {
    super(QUEUES.previews, connection, prefix, JOB_OPTIONS);
  }

  /** One job per state: statuses only move forward, so a repeated request for the same state adds nothing. */
  async request(rec: ApprovalRecord): Promise<void> {
    await this.queue.add('edit', { approvalId: rec.id }, { jobId: `${rec.id}-${rec.status}` });
  }
}

/** The leader's side: re-read the approval and edit its preview messages through this process's transports. */
export function startPreviewEditWorker(o: {
  redisUrl: string;
  prefix: string;
  approvals: Pick<ApprovalStore, 'get'>;
  edit: (rec: ApprovalRecord) => Promise<void>;
  log: Logger;
}): { close(): Promise<void> } {
  const connection = createRedis(o.redisUrl, 'worker');
  const worker = new Worker(
    QUEUES.previews,
    async (job: Job) => {
      const { approvalId } = EditJob.parse(job.data);
      const rec = await o.approvals.get(approvalId);
      if (rec) await o.edit(rec);
    },
    { connection, prefix: o.prefix, concurrency: 8 },
  );
  worker.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'preview edit worker error'));
  return {
    async close() {
      await worker.close().catch(() => undefined);
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
