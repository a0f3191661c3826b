/**
 * The randomised fault test of the whole money path (issue 12): FUZZ_SCHEDULES seeded schedules (default 2,000)
 * against the real services over the run's real Redis and the fault venue, each checked against I1-I6
 * (invariants.ts). A failure prints its seeds, violations and steps; `FUZZ_SEED=<seed> npx vitest run
 * test/money-paths/money-paths.test.ts` replays one schedule. The 100,000-schedule soak is bench/money-paths.bench.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis } from '../../src/queues/redis.js';
import { faultTestRedis } from './desk.js';
import { redisUrl, testPrefix } from '../support/redis.js';
import { describeFailure, runSchedule, runSchedules } from './schedule.js';

const redis = faultTestRedis(redisUrl());
afterAll(() => closeRedis(redis));

const SEED = process.env.FUZZ_SEED;
const COUNT = Number(process.env.FUZZ_SCHEDULES ?? 2_000);
const FROM = Number(process.env.FUZZ_FROM ?? 1);

describe('money paths under partial fills, retries, races and crashes', () => {
  if (SEED !== undefined) {
    it(`schedule ${SEED} keeps every invariant`, async () => {
      const r = await runSchedule(Number(SEED), { redis, prefix: testPrefix() });
      expect(r.violations, describeFailure(r)).toEqual([]);
    });
    return;
  }

  it(`${COUNT} random schedules keep I1-I6`, async () => {
    const s = await runSchedules(FROM, COUNT, { redis, prefix: testPrefix(), concurrency: 8 });
    const report = [
      `${s.failing.length} of ${s.schedules} schedules broke an invariant (${Math.round(s.ms)} ms): ${JSON.stringify(s.tally)}`,
      ...s.failing.slice(0, 3).map(describeFailure),
    ].join('\n');
    expect(s.failing.map((f) => f.seed), report).toEqual([]);
    // The schedules did reach the venue and crash the desk, or they proved nothing.
    expect(s.venueOrders).toBeGreaterThan(COUNT / 4);
    expect(s.crashes).toBeGreaterThan(COUNT / 4);
    // Flattens ran to the end and cancels of the desk's own orders reached the venue.
    expect(s.flattensRun, JSON.stringify({ flattens: s.flattensRun, canceled: s.canceled })).toBeGreaterThan(COUNT / 20);
    expect(s.canceled).toBeGreaterThan(COUNT / 1000);
  }, 300_000);
});
