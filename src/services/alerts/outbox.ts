import { z } from 'zod';
import { Alert, destKey, isUrgent, type Destination } from './types.js';
import { key, type Store } from '../store.js';
import { LuaScript } from '../../queues/lua-script.js';

/**
 * One outbox per destination: a sorted set of messages, urgent ones (cascade, liquidation risk, trading paused /
 * resumed, anything critical) ahead of the rest, each lane in publish order. One drainer job per destination sends
 * from it at the chat's pace: it takes a batch (the head message, or a digest of the queued non-urgent ones) into
 * its "in flight" key, where it stays until sent, so a retry re-sends the same batch and a crash loses none. A 429
 * puts the batch back where it was.
 */
export const OutboxItem = z.object({
  alertId: z.string(),
  alert: Alert,
  seq: z.number(),
  /** Sent without a sound or push (the destination's mode for the kind was `silent` when it was fanned out). */
  silent: z.boolean().optional(),
  /** The Telegram forum topic it goes to (the team chat's topic for its kind, or the topic a chat subscribed from). */
  threadId: z.number().int().positive().optional(),
});
export type OutboxItem = z.infer<typeof OutboxItem>;

export interface QueuedItem {
  item: OutboxItem;
  raw: string;
}

/** Urgent messages sort first: their scores are the publish sequence, the others' are offset by this. */
const NORMAL_LANE = 2 ** 50;

export function outboxScore(item: OutboxItem): number {
  return (isUrgent(item.alert) ? 0 : NORMAL_LANE) + item.seq;
}

// The drainer flag names the destination's drainer job and what it is doing: `<job id>|waiting` (queued, not run yet),
// `|active` (sending now; renewed every few seconds, so it lapses soon after its process dies) or `|parked` (delayed
// in BullMQ until its next slot, which any worker runs).
// KEYS: 1 outbox, 2 drainer flag. ARGV: score, raw, candidate drainer job id, flag ttl ms.
// Returns the job id of a drainer to start, 'active' when the drainer is running (the caller schedules a check), or
// false when a queued or parked drainer will send it.
const ENQUEUE = new LuaScript('pdOutboxEnqueue', `
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
local cur = redis.call('GET', KEYS[2])
if cur then
  if string.sub(cur, -7) == '|active' then return 'active' end
  return false
end
redis.call('SET', KEYS[2], ARGV[3] .. '|waiting', 'PX', ARGV[4])
return ARGV[3]
`, 2);
// KEYS: 1 drainer flag. ARGV: job id, state, ttl ms. The job becomes (or stays) the drainer unless another one is.
const ADOPT = new LuaScript('pdOutboxAdopt', `
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
`, 1);
// KEYS: 1 the job's in-flight batch, 2 outbox. ARGV: the raw members to take, in order.
const TAKE = new LuaScript('pdOutboxTake', `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
local taken = {}
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then taken[#taken + 1] = ARGV[i] end
end
if #taken == 0 then return false end
local batch = cjson.encode(taken)
redis.call('SET', KEYS[1], batch, 'EX', 604800)
return batch
`, 2);
// KEYS: 1 outbox, 2 drainer flag. ARGV: job id. The drainer stops only when nothing is queued, atomically with
// giving up the flag, so a message enqueued at that moment either is seen here or starts a new drainer.
const FINISH = new LuaScript('pdOutboxFinish', `
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
local cur = redis.call('GET', KEYS[2])
if cur and string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[2]) end
return 1
`, 2);
const RELEASE = new LuaScript('pdOutboxUnlock', `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1);
const SET_MAX = new LuaScript('pdOutboxFanned', `local c = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end return 1`, 1);

/** A queued or parked drainer that has not run within this long after it was due is presumed lost. */
export const DRAINER_GRACE_MS = 120_000;
/** A running drainer renews its claim this often at least; a claim older than this belongs to a dead process. */
export const DRAINER_ACTIVE_MS = 5_000;
/** How long one send may hold the chat's lock (a send by a killed process frees the chat after this). */
const LOCK_MS = 10_000;

export class Outbox {
  constructor(private readonly store: Store) {}

  // One hash tag per destination: its outbox, claims, lock and drainer flag share a Redis Cluster slot.
  #k(dest: Destination, ...parts: string[]): string {
    return key(this.store, 'alerts', `{out:${destKey(dest)}}`, ...parts);
  }

  /**
   * Queues the item for each destination (NX: a retried fan-out adds nothing twice). Returns the destinations that
   * have no drainer yet, each with the job id it was given (`drainerId(dest)`) to `start`, and those whose drainer is
   * sending right now, to `check` a little later that it is still alive (it may die mid-send with its process).
   */
  async enqueue(dests: Destination[], item: OutboxItem, drainerId: (d: Destination) => string): Promise<{ dest: Destination; start?: string; check?: true }[]> {
    const raw = JSON.stringify(item);
    const score = outboxScore(item);
    const results = await ENQUEUE.runMany(
      this.store.redis,
      dests.map((d) => ({ keys: [this.#k(d, 'outbox'), this.#k(d, 'drainer')], args: [score, raw, drainerId(d), DRAINER_GRACE_MS] })),
    );
    return dests.flatMap((dest, i): { dest: Destination; start?: string; check?: true }[] => {
      const r = results[i];
      if (r === 'active') return [{ dest, check: true as const }];
      return typeof r === 'string' ? [{ dest, start: r }] : [];
    });
  }

  /** The batch this job took earlier and has not finished (a retry after a crash or error). */
  async inflight(dest: Destination, jobId: string): Promise<QueuedItem[] | null> {
    const raw = await this.store.redis.get(this.#k(dest, 'inflight', jobId));
    return raw === null ? null : this.#parseBatch(dest, jobId, raw);
  }

  /** The first `n` queued messages, in sending order, and how many are queued in all. */
  async peek(dest: Destination, n: number): Promise<{ head: QueuedItem[]; total: number }> {
    const k = this.#k(dest, 'outbox');
    const [raws, total] = await Promise.all([this.store.redis.zrange(k, '0', String(n - 1)), this.store.redis.zcard(k)]);
    const head: QueuedItem[] = [];
    for (const raw of raws) {
      const item = parseItem(raw);
      if (item) head.push({ item, raw });
      else await this.store.redis.zrem(this.#k(dest, 'outbox'), raw); // unreadable: drop it rather than block the chat
    }
    return { head, total };
  }

  /** Moves these queued messages into the job's in-flight batch (or returns the batch it already holds). */
  async take(dest: Destination, jobId: string, batch: QueuedItem[]): Promise<QueuedItem[] | null> {
    const raw = await TAKE.run(this.store.redis, [this.#k(dest, 'inflight', jobId), this.#k(dest, 'outbox')], batch.map((b) => b.raw));
    return typeof raw === 'string' ? this.#parseBatch(dest, jobId, raw) : null;
  }

  async done(dest: Destination, jobId: string): Promise<void> {
    await this.store.redis.del(this.#k(dest, 'inflight', jobId));
  }

  /** Back where they were (their scores keep lane and order), e.g. after a 429. */
  async putBack(dest: Destination, batch: QueuedItem[], jobId: string): Promise<void> {
    const m = this.store.redis.multi();
    for (const b of batch) m.zadd(this.#k(dest, 'outbox'), outboxScore(b.item), b.raw);
    await m.del(this.#k(dest, 'inflight', jobId)).exec();
  }

  /** The chat refuses every message: nothing queued for it can be delivered, and nobody drains it any more. */
  async drop(dest: Destination, jobId: string): Promise<void> {
    await this.store.redis.del(this.#k(dest, 'outbox'), this.#k(dest, 'inflight', jobId), this.#k(dest, 'drainer'));
  }

  /** True when nothing is queued: this drainer is done (and no longer responsible for the destination). */
  async finish(dest: Destination, jobId: string): Promise<boolean> {
    return Number(await FINISH.run(this.store.redis, [this.#k(dest, 'outbox'), this.#k(dest, 'drainer')], [jobId])) === 1;
  }

  /**
   * This job is about to send for the destination: it is (or becomes, when the flag lapsed) its drainer, renewed for
   * a few seconds. False when another drainer is responsible: this job is a spare and stops.
   */
  async adopt(dest: Destination, jobId: string): Promise<boolean> {
    return Number(await ADOPT.run(this.store.redis, [this.#k(dest, 'drainer')], [jobId, 'active', DRAINER_ACTIVE_MS])) === 1;
  }

  /** This drainer parks for `ms`: it stays the destination's drainer until a while after it wakes. */
  async park(dest: Destination, jobId: string, ms: number): Promise<void> {
    await ADOPT.run(this.store.redis, [this.#k(dest, 'drainer')], [jobId, 'parked', Math.max(0, Math.ceil(ms)) + DRAINER_GRACE_MS]);
  }

  /** One sender per chat at a time, so the oldest message is also the first to arrive. */
  async lock(dest: Destination, owner: string): Promise<boolean> {
    return (await this.store.redis.set(this.#k(dest, 'lock'), owner, 'PX', LOCK_MS, 'NX')) === 'OK';
  }

  async unlock(dest: Destination, owner: string): Promise<void> {
    await RELEASE.run(this.store.redis, [this.#k(dest, 'lock')], [owner]);
  }

  /** Highest publish sequence fanned out so far (fan-outs run in publish order, see AlertDelivery). */
  async fannedUpTo(): Promise<number> {
    return Number((await this.store.redis.get(key(this.store, 'alerts', 'fanned'))) ?? '0');
  }

  async markFanned(seq: number): Promise<void> {
    await SET_MAX.run(this.store.redis, [key(this.store, 'alerts', 'fanned')], [seq]);
  }

  async #parseBatch(dest: Destination, jobId: string, raw: string): Promise<QueuedItem[] | null> {
    // A batch is a JSON array of queued members; a claim written before batches existed is one member.
    let raws: unknown;
    try {
      raws = raw.startsWith('[') ? JSON.parse(raw) : [raw];
    } catch {
      raws = null;
    }
    const batch = Array.isArray(raws)
      ? raws.flatMap((r) => {
          const item = typeof r === 'string' ? parseItem(r) : null;
          return item ? [{ item, raw: r as string }] : [];
        })
      : [];
    if (batch.length) return batch;
    await this.done(dest, jobId); // unreadable: drop it rather than block the chat forever
    return null;
  }
}

function parseItem(raw: string): OutboxItem | null {
  try {
    const p = OutboxItem.safeParse(JSON.parse(raw));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}
