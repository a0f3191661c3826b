import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { QUEUES } from '../../queues/names.js';
import { LazyQueue } from '../../queues/lazy-queue.js';

export const PLACE_ORDER_JOB = 'place-order';
export const PlaceOrderData = z.object({ approvalId: z.string().min(1).max(40) });
export type PlaceOrderData = z.infer<typeof PlaceOrderData>;
/** An approved `/flatten` rides the orders queue too (job id = flatten id, which never looks like an approval id). */
export const FLATTEN_JOB = 'flatten';
export const FlattenJobData = z.object({ flattenId: z.string().min(1).max(40) });

export const ORDER_JOB_OPTIONS: JobsOptions = {
  // Only "outcome unknown" errors are retried (timeouts, network): same job id, same client_order_id.
  attempts: 6,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 7 * 86_400 },
  removeOnFail: { age: 30 * 86_400 },
};

/**
 * The orders queue. The job id is the approval id, so a double click, a retry or a reconciliation enqueues the
 * same job, never a second one.
 */
export class OrderQueue extends LazyQueue {
  constructor(connection: Redis, prefix: string) {
    super(QUEUES.orders, connection, prefix, ORDER_JOB_OPTIONS);
  }

  async enqueue(approvalId: string): Promise<void> {
    await this.queue.add(PLACE_ORDER_JOB, { approvalId } satisfies PlaceOrderData, { jobId: approvalId });
  }

  async enqueueFlatten(flattenId: string): Promise<void> {
    await this.queue.add(FLATTEN_JOB, { flattenId }, { jobId: flattenId });
  }

  /**
   * Enqueue again after a crash. A finished job under the same id would swallow the add, so it is removed first;
   * a waiting, delayed or active one is left alone (BullMQ hands a stalled active job to a live worker).
   */
  async requeue(approvalId: string): Promise<void> {
    const job = await this.queue.getJob(approvalId);
    if (job) {
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') return;
      await job.remove();
    }
    await this.enqueue(approvalId);
  }
}
