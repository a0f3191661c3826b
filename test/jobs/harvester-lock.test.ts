import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, type Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { QUEUES } from '../../src/queues/names.js';
import { JOB_NAMES } from '../../src/queues/schedulers.js';
import { JOB_LOCK_LEASE_MS, startMarketWorker, type WorkerHandle } from '../../src/queues/workers.js';
import { closeTestRedis, deletePrefix, redisUrl, testPrefix, testRedis } from '../support/redis.js';
import { eventually, sleep } from './support/harness.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

function setup() {
  const prefix = testPrefix();
  const queuePrefix = `{${prefix}}`;
  const redis = testRedis();
  const queue = new Queue(QUEUES.market, { connection: redis, prefix: queuePrefix });
  cleanup.push(async () => {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await deletePrefix(redis, prefix);
    await deletePrefix(redis, queuePrefix);
    await closeTestRedis();
  });
  const worker = (handler: (job: Job) => Promise<unknown>, lockLeaseMs?: number): WorkerHandle => {
    const w = startMarketWorker({ redisUrl: redisUrl(), prefix: queuePrefix, lockPrefix: prefix, log: silentLogger, handlers: { [JOB_NAMES.harvester]: handler }, lockLeaseMs });
    cleanup.push(() => w.close());
    return w;
  };
  const finished = (id: string) =>
    eventually(async () => {
      // Read the job again once completed: a copy read before completion has no return value yet.
      if (!(await (await queue.getJob(id))?.isCompleted())) return undefined;
      return String((await queue.getJob(id))!.returnvalue);
    }, 20_000, `job ${id} finished`);
  return { prefix, queuePrefix, redis, queue, worker, finished };
}

describe('market job lock', () => {
  it('should keep a long run\'s lock alive past its lease, so an overlapping run of the same job is skipped', async () => {
    const x = setup();
    let running = 0;
    let overlapped = false;
    // The first run lasts until the test lets it end, however slow the machine is.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    x.worker(async () => {
      running++;
      if (running > 1) overlapped = true;
      await gate;
      running--;
      return 'ran';
    }, 500);
    await x.queue.add(JOB_NAMES.harvester, {}, { jobId: 'first' });
    await eventually(() => running === 1, 10_000, 'first run started');
    await sleep(1_200); // more than two leases
    await x.queue.add(JOB_NAMES.harvester, {}, { jobId: 'second' });
    expect(await x.finished('second')).toBe('skipped: previous run still going');
    release();
    expect(await x.finished('first')).toBe('ran');
    expect(overlapped).toBe(false);
    // Released at the end: the next run goes ahead.
    await x.queue.add(JOB_NAMES.harvester, {}, { jobId: 'third' });
    expect(await x.finished('third')).toBe('ran');
  });

  it('when the process running a job is killed (SIGKILL), should free its lock within one lease so the next run is not skipped', async () => {
    const x = setup();
    let child: ChildProcess | undefined = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/job-lock-child.ts', import.meta.url))], {
      env: { ...process.env, PD_REDIS_URL: redisUrl(), PD_PREFIX: x.prefix, PD_QUEUE_PREFIX: x.queuePrefix, PD_JOB: JOB_NAMES.harvester },
      stdio: 'ignore',
    });
    cleanup.push(async () => { child?.kill('SIGKILL'); });
    const exited = new Promise<unknown>((resolve) => child!.on('exit', (code, sig) => resolve(sig ?? code)));
    await x.queue.add(JOB_NAMES.harvester, {}, { jobId: 'child-run' });
    await eventually(() => x.redis.get(`${x.prefix}:child-running`).then((v) => v ?? undefined), 20_000, 'child run started');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    child = undefined;
    const killedAt = Date.now();

    const ran: number[] = [];
    x.worker(async () => {
      ran.push(Date.now());
      return 'ran';
    });
    await x.queue.add(JOB_NAMES.harvester, {}, { jobId: 'after-kill', attempts: 1 });
    const first = await x.finished('after-kill');
    if (first !== 'ran') {
      // Skipped while the dead holder's lease runs out; the next iteration must run.
      await sleep(JOB_LOCK_LEASE_MS);
      await x.queue.add(JOB_NAMES.harvester, {}, { jobId: 'after-lease' });
      expect(await x.finished('after-lease')).toBe('ran');
    }
    expect(ran.length).toBeGreaterThan(0);
    expect(ran[0]! - killedAt).toBeLessThan(JOB_LOCK_LEASE_MS + 5_000);
    expect(JOB_LOCK_LEASE_MS).toBeLessThanOrEqual(15_000);
  });
});
