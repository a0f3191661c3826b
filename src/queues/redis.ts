import { Redis, type RedisOptions } from 'ioredis';

/**
 * ioredis factory. Commands of request handlers fail fast when Redis is down (a user gets an error
 * instead of a hang); BullMQ workers need `maxRetriesPerRequest: null` so they wait for Redis to return.
 */
export type ConnectionRole = 'client' | 'worker';

export function createRedis(url: string, role: ConnectionRole = 'client', extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
    ...extra,
  });
}

/** Closes a connection without throwing when it is already closed. */
export async function closeRedis(r: Redis): Promise<void> {
  try {
    if (r.status === 'end') return;
    await r.quit();
  } catch {
    r.disconnect();
  }
}
