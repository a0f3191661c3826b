import { randomUUID } from 'node:crypto';
import { Worker, type Job, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { QUEUES } from './names.js';
import { closeRedis, createRedis } from './redis.js';
import { metered, WORKER_METRICS } from './metered.js';

export interface WorkerHandle {
  worker: Worker;
  close(): Promise<void>;
}

/** Compare-and-delete: only the run that took the lock releases it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** Compare-and-extend: only the run that holds the lock renews its lease. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * Lease of a market job's lock. The run renews it every third of the lease while it lives, so a slow run keeps
 * it however long it takes, and a killed one (kill -9, a lost host) frees it within one lease.
 */
export const JOB_LOCK_LEASE_MS = 10_000;

export type JobHandler = (job: Job) => Promise<unknown>;

/**
 * Hash of each market job's last finished run (name → `{at, outcome, ms}`), read by the dead man's switch: a
 * scheduler whose job has not finished a run for three of its periods is reported (services/watchdogs). An iteration
 * skipped because the previous run still holds the lock does not count: a run stuck forever must show as silent.
 */
export function jobRunsKey(lockPrefix: string): string {
  return `${lockPrefix}:watch:jobs`;
}

export interface MarketWorkerOptions {
  redisUrl: string;
  /** BullMQ prefix (hash-tagged). */
  prefix: string;
  /** Handler per job name. */
  handlers: Record<string, JobHandler>;
  log: Logger;
  /** Key prefix for the overlap locks. */
  lockPrefix: string;
  /** Lease of a run's job lock, renewed while the run lives (default JOB_LOCK_LEASE_MS). */
  lockLeaseMs?: number;
  concurrency?: number;
}

/**
 * Runs the market jobs. BullMQ hands each scheduled iteration to exactly one worker; on top of that, a lock per job
 * name (`<lockPrefix>:joblock:<job>`, a lease renewed while the run lives) skips an iteration while the previous
 * one still runs elsewhere, so two workers never run the same job at once (a slow exchange must not make two cascade
 * detectors race on the same alert state, nor two harvester runs plan the same symbol).
 */
export function startMarketWorker(o: MarketWorkerOptions): WorkerHandle {
  const connection = createRedis(o.redisUrl, 'worker');
  connection.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'market worker redis error'));
  const lease = o.lockLeaseMs ?? JOB_LOCK_LEASE_MS;
  const processor: Processor = async (job) => {
    const handler = o.handlers[job.name];
    if (!handler) {
      o.log.warn({ job: job.name }, 'no handler for market job');
      return 'no handler';
    }
    const lockKey = `${o.lockPrefix}:joblock:${job.name}`;
    const token = randomUUID();
    if ((await connection.set(lockKey, token, 'PX', lease, 'NX')) !== 'OK') return 'skipped: previous run still going';
    const started = Date.now();
    const renew = setInterval(() => {
      connection.eval(RENEW, 1, lockKey, token, String(lease)).then(
        (kept) => {
          // Lost (Redis restarted without it, or a stall longer than the lease): another run may start beside this one.
          if (kept !== 1) o.log.warn({ job: job.name }, 'market job lock lost while running');
        },
        (err: unknown) => o.log.warn({ err, job: job.name }, 'market job lock renewal failed'),
      );
    }, Math.max(50, Math.floor(lease / 3)));
    let outcome: 'ok' | 'failed' = 'failed';
    try {
      const r = await handler(job);
      outcome = 'ok';
      return r;
    } catch (err) {
      o.log.error({ err, job: job.name }, 'market job failed');
      throw err;
    } finally {
      const run = JSON.stringify({ at: Date.now(), outcome, ms: Date.now() - started });
      await connection.hset(jobRunsKey(o.lockPrefix), job.name, run).catch((err: unknown) => o.log.warn({ err, job: job.name }, 'could not record the job run'));
      clearInterval(renew);
      await connection.eval(RELEASE, 1, lockKey, token).catch(() => undefined);
      o.log.debug({ job: job.name, ms: Date.now() - started }, 'market job done');
    }
  };
  const worker = new Worker(QUEUES.market, metered(QUEUES.market, processor), { connection, prefix: o.prefix, concurrency: o.concurrency ?? 4, metrics: WORKER_METRICS });
  worker.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'market worker error'));
  return handle(worker, connection);
}

export interface NotifyWorkerOptions {
  redisUrl: string;
  prefix: string;
  process: (job: Job, token?: string) => Promise<unknown>;
  backoff: (attemptsMade: number) => number;
  log: Logger;
  /** Sends in flight at once; pacing, not this, keeps each chat under its limit. */
  concurrency?: number;
}

const NOTIFY_LOCK_MS = 5_000;

/** Delivers alerts; runs only in the process that has the chat transports. */
export function startNotifyWorker(o: NotifyWorkerOptions): WorkerHandle {
  const connection = createRedis(o.redisUrl, 'worker');
  connection.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'notify worker redis error'));
  const worker = new Worker(QUEUES.notify, metered(QUEUES.notify, (job, token) => o.process(job, token)), {
    connection,
    metrics: WORKER_METRICS,
    prefix: o.prefix,
    concurrency: o.concurrency ?? 32,
    // A delivery held by a process that died (the leader replica killed) is picked up again within seconds, not
    // BullMQ's default 30 s: alerts queue behind it in their destination's order. Sends take well under a second,
    // and the lock is renewed every lockDuration / 2, so a live send is never taken for stalled.
    lockDuration: NOTIFY_LOCK_MS,
    stalledInterval: NOTIFY_LOCK_MS,
    settings: { backoffStrategy: (attemptsMade: number) => o.backoff(attemptsMade) },
  });
  worker.on('failed', (job, err) => {
    o.log.warn({ jobId: job?.id, attempts: job?.attemptsMade, error: err.message }, 'alert delivery attempt failed');
  });
  worker.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'notify worker error'));
  return handle(worker, connection);
}

function handle(worker: Worker, connection: Redis): WorkerHandle {
  let closing: Promise<void> | undefined;
  return {
    worker,
    close: () => {
      closing ??= (async () => {
        try {
          await worker.close();
        } finally {
          await closeRedis(connection);
        }
      })();
      return closing;
    },
  };
}
