import { z } from 'zod';
import { Alert, destKey, type Destination } from './types.js';
import { key, type Store } from '../store.js';

/**
 * One FIFO outbox per destination: a sorted set of messages by publish sequence. A delivery job is only a send
 * slot; when it fires it claims the oldest message, which stays with that job ("in flight") until it is sent, so a
 * retry re-sends the same message and a crash loses none. A 429 puts the message back at the head.
 */
export const OutboxItem = z.object({ alertId: z.string(), alert: Alert, seq: z.number() });
export type OutboxItem = z.infer<typeof OutboxItem>;

export interface Claimed {
  item: OutboxItem;
  raw: string;
}

// KEYS: 1 the job's in-flight claim, 2 the outbox.
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
local top = redis.call('ZPOPMIN', KEYS[2])
if #top == 0 then return false end
redis.call('SET', KEYS[1], top[1], 'EX', 604800)
return top[1]
`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const SET_MAX = `local c = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end return 1`;

export class Outbox {
  constructor(private readonly store: Store) {}

  // One hash tag per destination: its outbox, claims and lock share a Redis Cluster slot.
  #k(dest: Destination, ...parts: string[]): string {
    return key(this.store, 'alerts', `{out:${destKey(dest)}}`, ...parts);
  }

  async add(dests: Destination[], item: OutboxItem): Promise<void> {
    const raw = JSON.stringify(item);
    const m = this.store.redis.multi();
    // NX: a retried fan-out adds nothing twice.
    for (const d of dests) m.zadd(this.#k(d, 'outbox'), 'NX', item.seq, raw);
    await m.exec();
  }

  async claim(dest: Destination, jobId: string): Promise<Claimed | null> {
    const raw = await this.store.redis.eval(CLAIM, 2, this.#k(dest, 'inflight', jobId), this.#k(dest, 'outbox'));
    if (typeof raw !== 'string') return null;
    try {
      return { item: OutboxItem.parse(JSON.parse(raw)), raw };
    } catch {
      await this.done(dest, jobId); // unreadable: drop it rather than block the chat forever
      return null;
    }
  }

  async done(dest: Destination, jobId: string): Promise<void> {
    await this.store.redis.del(this.#k(dest, 'inflight', jobId));
  }

  async putBack(dest: Destination, c: Claimed, jobId: string): Promise<void> {
    await this.store.redis.multi().zadd(this.#k(dest, 'outbox'), c.item.seq, c.raw).del(this.#k(dest, 'inflight', jobId)).exec();
  }

  /** The chat refuses every message: nothing queued for it can be delivered. */
  async drop(dest: Destination, jobId: string): Promise<void> {
    await this.store.redis.del(this.#k(dest, 'outbox'), this.#k(dest, 'inflight', jobId));
  }

  /** One sender per chat at a time, so the oldest message is also the first to arrive. */
  async lock(dest: Destination, owner: string): Promise<boolean> {
    return (await this.store.redis.set(this.#k(dest, 'lock'), owner, 'PX', 30_000, 'NX')) === 'OK';
  }

  async unlock(dest: Destination, owner: string): Promise<void> {
    await this.store.redis.eval(RELEASE, 1, this.#k(dest, 'lock'), owner);
  }

  /** Highest publish sequence fanned out so far (fan-outs run in publish order, see AlertDelivery). */
  async fannedUpTo(): Promise<number> {
    return Number((await this.store.redis.get(key(this.store, 'alerts', 'fanned'))) ?? '0');
  }

  async markFanned(seq: number): Promise<void> {
    await this.store.redis.eval(SET_MAX, 1, key(this.store, 'alerts', 'fanned'), seq);
  }
}
