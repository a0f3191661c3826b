import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { LuaScript } from '../../src/queues/lua-script.js';
import { startRedisServer, type RedisServerHandle } from '../../src/queues/redis-server.js';
import { closeRedis, createRedis } from '../../src/queues/redis.js';

// A private redis-server: the test watches every command with MONITOR and flushes the script cache.
let dir: string;
let server: RedisServerHandle;
let redis: Redis;
let monitor: Redis;
const seen: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-lua-'));
  server = await startRedisServer({ dataDir: dir });
  redis = createRedis(server.url);
  monitor = createRedis(server.url);
  const m = await monitor.monitor();
  m.on('monitor', (_time: string, args: string[]) => seen.push(args[0]!.toLowerCase()));
});
afterAll(async () => {
  await closeRedis(redis);
  monitor.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function commandsOf(run: () => Promise<unknown>): Promise<string[]> {
  await redis.ping();
  await new Promise((r) => setTimeout(r, 50));
  seen.length = 0;
  await run();
  await redis.ping();
  await new Promise((r) => setTimeout(r, 50));
  return seen.filter((c) => c === 'eval' || c === 'evalsha');
}

describe('LuaScript', () => {
  const incr = new LuaScript('pdTestIncrBy', "return redis.call('INCRBY', KEYS[1], ARGV[1])", 1);

  it('sends the body once, then runs by EVALSHA, and again after Redis lost its script cache', async () => {
    expect(await commandsOf(() => incr.run(redis, ['lua:n'], [2]))).toEqual(['eval']);
    expect(await commandsOf(async () => {
      expect(await incr.run(redis, ['lua:n'], [3])).toBe(5);
      expect(await incr.run(redis, ['lua:n'], [4])).toBe(9);
    })).toEqual(['evalsha', 'evalsha']);
    await redis.script('FLUSH');
    // NOSCRIPT: the same call still succeeds, by sending the body again.
    let result: unknown;
    expect(await commandsOf(async () => (result = await incr.run(redis, ['lua:n'], [1])))).toEqual(['evalsha', 'eval']);
    expect(result).toBe(10);
  });

  it('refuses the wrong number of keys, a name taken by another script and a name of a Redis command', async () => {
    expect(() => incr.run(redis, [], [1])).toThrow('0 keys given, 1 expected');
    const other = new LuaScript('pdTestIncrBy', "return redis.call('DECRBY', KEYS[1], ARGV[1])", 1);
    expect(() => other.run(redis, ['lua:n'], [1])).toThrow('another script already uses this name');
    const clash = new LuaScript('hgetall', "return 1", 1);
    expect(() => clash.run(redis, ['lua:n'], [])).toThrow('already a command of this connection');
    expect(await redis.get('lua:n')).toBe('10');
  });
});
