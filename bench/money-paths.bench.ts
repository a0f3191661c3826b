/**
 * The money-path fault test's soak (issue 12): BENCH_SCHEDULES random schedules (default 100,000) from seed
 * BENCH_FROM (default 1,000,000, past the CI test's seeds), against the real services on a private redis-server.
 * Prints one JSON line: schedules, time, violations by invariant, and the first failing seeds with their steps
 * (`FUZZ_SEED=<seed> npx vitest run test/money-paths` replays one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer } from '../src/queues/redis-server.js';
import { closeRedis, createRedis } from '../src/queues/redis.js';
import { describeFailure, runSchedules } from '../test/money-paths/schedule.js';

const COUNT = Number(process.env.BENCH_SCHEDULES ?? 100_000);
const FROM = Number(process.env.BENCH_FROM ?? 1_000_000);
const SHOW = Number(process.env.BENCH_SHOW ?? 3);

const dir = mkdtempSync(join(tmpdir(), 'pd-bench-money-'));
const server = await startRedisServer({ dataDir: dir });
const redis = createRedis(server.url);
try {
  let done = 0;
  const t0 = Date.now();
  const s = await runSchedules(FROM, COUNT, {
    redis,
    prefix: 'soak',
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 8),
    onResult: () => {
      if (++done % 10_000 === 0) process.stderr.write(`${done} schedules, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    },
  });
  for (const f of s.failing.slice(0, SHOW)) console.error(describeFailure(f));
  console.log(JSON.stringify({
    bench: 'money-paths',
    schedules: s.schedules,
    seconds: +(s.ms / 1000).toFixed(1),
    perScheduleMs: +(s.ms / s.schedules).toFixed(2),
    crashes: s.crashes,
    venueOrders: s.venueOrders,
    failingSchedules: s.failing.length,
    violations: s.tally,
    firstFailingSeeds: s.failing.slice(0, 10).map((f) => f.seed),
  }));
} finally {
  await closeRedis(redis);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
