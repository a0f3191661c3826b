import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * A BullMQ queue opened on first use, so services built only for reading open none. Its 'error' events are heard
 * (an unheard one would throw); a failed add already rejects to its caller.
 */
export class LazyQueue {
  #queue: Queue | undefined;

  constructor(
    private readonly name: string,
    private readonly connection: Redis,
    readonly prefix: string,
    private readonly defaultJobOptions: JobsOptions,
  ) {}

  get queue(): Queue {
    if (!this.#queue) {
      this.#queue = new Queue(this.name, { connection: this.connection, prefix: this.prefix, defaultJobOptions: this.defaultJobOptions });
      this.#queue.on('error', () => {});
    }
    return this.#queue;
  }

  async close(): Promise<void> {
    const q = this.#queue;
    this.#queue = undefined;
    await q?.close().catch(() => undefined);
  }
}
