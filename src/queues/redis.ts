import { Redis, type RedisOptions } from 'ioredis';

/**
 * ioredis factory. Commands of request handlers fail fast when Redis is down (a user gets an error
 * instead of a hang); BullMQ workers need `maxRetriesPerRequest: null` so they wait for Redis to return.
 */
export type ConnectionRole = 'client' | 'worker';

export function createRedis(url: string, role: ConnectionRole = 'client', extra: RedisOptions = {}): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
    ...extra,
  });
  // ioredis prints a raw stack trace to the terminal for an error event nobody listens to. A connection error also
  // fails the commands that meet it, /readyz and /status report Redis down, and owners that want to log it add
  // their own listener; this one only keeps the console readable during an outage.
  r.on('error', () => {});
  return r;
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
