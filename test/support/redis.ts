import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { createRedis, closeRedis, type ConnectionRole } from '../../src/queues/redis.js';
import { QUEUES, queuePrefix } from '../../src/queues/names.js';

/** URL of the run's real redis-server (started by global-setup.ts). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A fresh key prefix per test, e.g. `pd-test-1b2c...:`; queue names should embed it too. */
export function testPrefix(): string {
  return `pd-test-${randomUUID()}`;
}

const opened: Redis[] = [];

/** A real connection to the test Redis; close with `closeTestRedis()` in afterAll/afterEach. */
export function testRedis(role: ConnectionRole = 'client'): Redis {
  const r = createRedis(redisUrl(), role);
  opened.push(r);
  return r;
}

export async function closeTestRedis(): Promise<void> {
  await Promise.all(opened.splice(0).map(closeRedis));
}

/** Deletes every key that starts with `prefix`. */
export async function deletePrefix(r: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
}

/** Removes what an app under `prefix` left in the run's Redis: its notify queue (BullMQ, hash-tagged prefix) and keys. */
export async function removeAppData(prefix: string): Promise<void> {
  const r = createRedis(redisUrl());
  try {
    const q = new Queue(QUEUES.notify, { connection: r, prefix: queuePrefix(prefix) });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
    await deletePrefix(r, prefix);
  } finally {
    await closeRedis(r);
  }
}
