/** The leader lease on a real Redis: one holder, takeover after a kill or a release, fencing of a paused holder. */
import { afterAll, describe, expect, it } from 'vitest';
import { LeaderLease } from '../../src/queues/leader.js';
import { silentLogger } from '../../src/log.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

const redis = testRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await closeTestRedis();
});

function pair(ttlMs: number) {
  const key = `${testPrefix()}:leader`;
  prefixes.push(key);
  let clockA = 0;
  let clockB = 0;
  const a = new LeaderLease({ redis, key, id: 'a', ttlMs, marginMs: 100, log: silentLogger, monotonic: () => clockA });
  const b = new LeaderLease({ redis, key, id: 'b', ttlMs, marginMs: 100, log: silentLogger, monotonic: () => clockB });
  const events: string[] = [];
  a.on('acquired', (e) => events.push(`a+${e}`)).on('lost', () => events.push('a-'));
  b.on('acquired', (e) => events.push(`b+${e}`)).on('lost', () => events.push('b-'));
  return { a, b, key, events, advanceA: (ms: number) => (clockA += ms), advanceB: (ms: number) => (clockB += ms) };
}

describe('leader lease', () => {
  it('is held by exactly one process; the other stays a follower while the holder renews', async () => {
    const { a, b, events } = pair(5_000);
    await a.attempt();
    await b.attempt();
    await a.attempt();
    await b.attempt();
    expect(a.holds()).toBe(true);
    expect(b.holds()).toBe(false);
    expect(events).toEqual(['a+1']);
    await a.close();
    await b.close();
  });

  it('passes to the follower at once when the holder closes (compare-and-delete), with a new epoch', async () => {
    const { a, b, events } = pair(5_000);
    await a.attempt();
    await a.close();
    await b.attempt();
    expect(b.holds()).toBe(true);
    expect(b.epoch).toBe(2);
    expect(events).toEqual(['a+1', 'b+2']);
    await b.close();
  });

  it('passes to the follower after the TTL when the holder dies without releasing', async () => {
    const { a, b, events } = pair(300);
    await a.attempt(); // a is "killed": never renews again
    await b.attempt();
    expect(b.holds()).toBe(false);
    await new Promise((r) => setTimeout(r, 350));
    await b.attempt();
    expect(b.holds()).toBe(true);
    expect(events).toEqual(['a+1', 'b+2']);
    await b.close();
  });

  it('fences a paused holder: it stops holding by its own clock before the key expires, and learns it lost on resume', async () => {
    const { a, b, key, events, advanceA } = pair(400);
    await a.attempt();
    expect(a.holds()).toBe(true);
    advanceA(301); // paused past TTL − margin by its own monotonic clock
    expect(a.holds()).toBe(false); // no Redis round trip needed to refuse sending
    await new Promise((r) => setTimeout(r, 450)); // the key expires in Redis meanwhile
    await b.attempt();
    expect(b.holds()).toBe(true);
    await a.attempt(); // resumes
    expect(a.holds()).toBe(false);
    expect(events).toEqual(['a+1', 'b+2', 'a-']);
    await a.close(); // must not delete b's key
    expect(await redis.get(key)).toBe('b');
    await b.close();
  });

  it('keeps renewing on its own timer and gives the lease up at close', async () => {
    const key = `${testPrefix()}:leader`;
    prefixes.push(key);
    const a = new LeaderLease({ redis, key, id: 'a', ttlMs: 1_500, log: silentLogger });
    await a.start();
    await new Promise((r) => setTimeout(r, 4_000)); // over two TTLs: only renewals keep it
    expect(a.holds()).toBe(true);
    expect(await redis.get(key)).toBe('a');
    await a.close();
    expect(await redis.get(key)).toBeNull();
  });
});
