/**
 * A process crash at every Redis command of one money path, one crash point per run, then a restart over the same
 * Redis and venue: whatever was in flight must end audited and resumable, and the books must match the venue
 * (I4, I5). Deterministic companion of the randomised fault test: it walks every crash point instead of sampling.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis } from '../../src/queues/redis.js';
import { RESUME_AFTER_MS } from '../../src/services/harvester/hedge-executor.js';
import { redisUrl, testPrefix } from '../support/redis.js';
import { CONFIG, faultTestRedis, World } from './desk.js';
import { Observer, type Violation } from './invariants.js';
import { CrashError } from './venue.js';

const redis = faultTestRedis(redisUrl());
afterAll(() => closeRedis(redis));

const START = Date.UTC(2024, 0, 15, 3, 0, 0);

async function quietly(p: Promise<unknown>): Promise<void> {
  await p.catch((e: unknown) => {
    if (!(e instanceof CrashError)) throw e;
  });
}

/** Runs `path` with the process dying right before its `n`-th Redis command, restarts, settles, checks I4 and I5. */
async function crashAt(n: number, path: (w: World) => Promise<void>): Promise<{ crashed: boolean; violations: Violation[] }> {
  const w = new World(redis, testPrefix(), START);
  w.venue.engine.setPrice('BTC-PERP', 65_000);
  w.venue.engine.setPrice('ETH-PERP', 3_500);
  w.venue.engine.setFunding('ETH-PERP', 0);
  const obs = new Observer(redis, w.prefix, w.venue, CONFIG, w.published, w.now);
  w.desk.life.crashAfter = n;
  await quietly(path(w));
  const crashed = w.desk.life.dead;
  delete w.desk.life.crashAfter;
  if (crashed) await w.restart();
  w.clock.t += RESUME_AFTER_MS + 1_000;
  await w.desk.sweep();
  for (const id of [...w.jobs.keys()]) await w.desk.runJob(id);
  await w.desk.harvest('off');
  await obs.afterHarvest();
  const { approvals, plans } = await obs.checkRecords();
  await obs.checkBooks(approvals, plans);
  return { crashed, violations: obs.violations };
}

async function walk(path: (w: World) => Promise<void>): Promise<{ points: number; violations: string[] }> {
  const violations: string[] = [];
  let n = 1;
  for (; n < 200; n++) {
    const r = await crashAt(n, path);
    violations.push(...r.violations.map((v) => `crash before command ${n}: ${v.id} ${v.kind}: ${v.detail}`));
    if (!r.crashed) break;
  }
  return { points: n - 1, violations };
}

describe('a crash at every Redis command', () => {
  it('of an auto harvester entry leaves the plan audited, resumable, and the hedge matching the venue', async () => {
    const r = await walk(async (w) => {
      w.venue.engine.setFunding('BTC-PERP', 0.002);
      await w.desk.harvest('auto');
    });
    expect(r.points).toBeGreaterThan(10);
    expect(r.violations).toEqual([]);
  });

  it('of a hedge entry that ends broken leaves the critical alert published (soak seed 1096144)', async () => {
    const r = await walk(async (w) => {
      w.venue.engine.setFunding('BTC-PERP', 0.002);
      // The spot leg fills nothing and the unwind of the perp leg only half: the hedge cannot be brought back.
      w.venue.engine.setFillModel('BTC-USD', 'resting');
      w.venue.engine.setFillModel('BTC-PERP', 'partial', 0.5);
      await w.desk.harvest('auto');
    });
    expect(r.points).toBeGreaterThan(10);
    expect(r.violations).toEqual([]);
  });

  it('of a harvester proposal leaves it audited and resumable', async () => {
    const r = await walk(async (w) => {
      w.venue.engine.setFunding('BTC-PERP', 0.002);
      await w.desk.harvest('propose');
    });
    expect(r.points).toBeGreaterThan(5);
    expect(r.violations).toEqual([]);
  });

  it('of an order request, its approval and its placement leaves it audited, resumable and matching the venue', async () => {
    const r = await walk(async (w) => {
      const reply = await w.desk.run('alice', 'order', { symbol: 'ETH-PERP', side: 'long', size_usd: 3000, leverage: 2 });
      const approve = reply.buttons?.find((b) => b.label === 'Approve')?.id;
      if (!approve) {
        if (w.desk.life.dead) return;
        throw new Error(`no preview: ${reply.text ?? ''}`);
      }
      await w.desk.click('bob', approve);
      for (const id of [...w.jobs.keys()]) await w.desk.runJob(id);
    });
    expect(r.points).toBeGreaterThan(10);
    expect(r.violations).toEqual([]);
  });
});
