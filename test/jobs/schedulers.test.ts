import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { startBackground } from '../../jobs/background.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { QUEUES } from '../../src/queues/names.js';
import { JOB_NAMES, listSchedulers, schedulePlan, upsertSchedulers } from '../../src/queues/schedulers.js';
import { closeTestRedis, deletePrefix, redisUrl, testPrefix, testRedis } from '../support/redis.js';
import { sleep } from './support/harness.js';
import { SampleStore } from '../../src/services/samples.js';

const HOUR = 3_600_000;

describe('schedulers and workers', () => {
  const prefix = testPrefix();
  const queuePrefix = `{${prefix}}`;
  const redis = testRedis();
  const closers: { close(): Promise<void> }[] = [];

  afterAll(async () => {
    for (const c of closers.reverse()) await c.close().catch(() => undefined);
    for (const name of [QUEUES.market, QUEUES.notify]) {
      const q = new Queue(name, { connection: redis, prefix: queuePrefix });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    await deletePrefix(redis, prefix);
    await deletePrefix(redis, queuePrefix);
    await closeTestRedis();
  });

  it('should upsert one scheduler per job (never duplicates) and keep the harvester scheduled when switched off (it then only finishes interrupted hedges)', async () => {
    const q = new Queue(QUEUES.market, { connection: redis, prefix: `${queuePrefix}-plan` });
    closers.push({ close: async () => { await q.obliterate({ force: true }).catch(() => undefined); await q.close(); } });
    const on = loadConfig({ HARVESTER_MODE: 'auto', CASCADE_INTERVAL_SECONDS: '7' });
    // With MARKET_VENUES set, the venue sampler runs too.
    await upsertSchedulers(q, schedulePlan({ ...on, venues: true }));
    await upsertSchedulers(q, schedulePlan({ ...on, venues: true }));
    const list = await listSchedulers(q);
    expect(list.map((s) => s.id).sort()).toEqual(Object.values(JOB_NAMES).sort());
    expect(list.find((s) => s.id === JOB_NAMES.cascade)?.everyMs).toBe(7_000);
    await upsertSchedulers(q, schedulePlan(loadConfig({ HARVESTER_MODE: 'off', HARVESTER_INTERVAL_SECONDS: '60' })));
    const off = await listSchedulers(q);
    // Without venues its scheduler goes; the harvester's stays.
    expect(off.map((s) => s.id).sort()).toEqual(Object.values(JOB_NAMES).filter((n) => n !== JOB_NAMES.venues).sort());
    expect(off.find((s) => s.id === JOB_NAMES.harvester)?.everyMs).toBe(60_000);
  });

  it('with two workers on one queue, should run each scheduled iteration exactly once', async () => {
    const config = loadConfig({ EXCHANGE: 'paper', HTTP_PORT: '0' });
    const paper = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0 });
    closers.push(paper);
    const every = { [JOB_NAMES.cascade]: 300, [JOB_NAMES.risk]: HOUR, [JOB_NAMES.reminder]: HOUR, [JOB_NAMES.basis]: HOUR, [JOB_NAMES.harvester]: HOUR };
    const a = await startBackground({ redisUrl: redisUrl(), config, exchange: paper, log: silentLogger, prefix, queuePrefix, every });
    closers.push(a);
    const b = await startBackground({ redisUrl: redisUrl(), config, exchange: paper, log: silentLogger, prefix, queuePrefix, every });
    closers.push(b);
    await sleep(2_000);
    await b.close();
    await a.close();

    const q = new Queue(QUEUES.market, { connection: redis, prefix: queuePrefix });
    closers.push(q);
    expect((await listSchedulers(q)).filter((s) => s.id === JOB_NAMES.cascade)).toHaveLength(1);
    const done = (await q.getCompleted()).filter((j) => j.name === JOB_NAMES.cascade);
    expect(done.length).toBeGreaterThanOrEqual(3);
    // One job per iteration time, and one detector run (one OI sample) per job that was not skipped.
    const iterations = new Set(done.map((j) => j.id));
    expect(iterations.size).toBe(done.length);
    const ran = done.filter((j) => !String(j.returnvalue).startsWith('skipped')).length;
    const samples = await new SampleStore({ redis, prefix }).oiSince('BTC-PERP', 0);
    expect(samples).toHaveLength(ran);
  });
});
