import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { destKey, telegramChatType, type Destination } from './types.js';
import { LuaScript } from '../../queues/lua-script.js';

/**
 * Per-destination pacing under the chat platforms' limits. Each send reserves a future slot in Redis (one Lua
 * call, so several processes share the budget): per chat at most `max` sends in any `windowMs` (FIFO, so one chat's
 * messages keep their order), and per platform a grid of slots `gapMs` apart (so many chats together stay under the
 * bot-wide rate). A job whose slot lies ahead is parked in BullMQ's delayed set until then.
 */
export interface PaceLimit {
  /** Per chat: at most `max` sends in any `windowMs` (0 = unlimited). */
  chat: { max: number; windowMs: number };
  /** Bot-wide minimum spacing between two reserved slots of this platform (0 = none). */
  gapMs: number;
  /** Bot-wide: at most `max` sends in any `windowMs`, checked at send time (0 = unlimited). */
  global: { max: number; windowMs: number };
  /**
   * A chat whose queue would take longer than this to send at its own limit gets its routine alerts merged into a
   * digest (see AlertDelivery): people need current news, not a five-minute queue.
   */
  digestAfterMs: number;
}

/**
 * The platforms' documented limits — Telegram 1 msg/s per private chat, 20/min per group, 30/s overall; Discord 5
 * per 5 s per channel, 50 requests/s per bot — with small margins. The send-time gate (`admitSend`/`finished`)
 * measures windows from when earlier requests finished, so request latency and jitter need no margin of their own;
 * the margins cover the platforms' own clocks and rounding.
 */
export const PLATFORM_LIMITS = {
  telegramPrivate: { chat: { max: 1, windowMs: 1_000 + 120 }, gapMs: (1_000 / 30) * 1.03, global: { max: 30, windowMs: 1_000 + 10 }, digestAfterMs: 30_000 },
  telegramGroup: { chat: { max: 20, windowMs: 60_000 + 500 }, gapMs: (1_000 / 30) * 1.03, global: { max: 30, windowMs: 1_000 + 10 }, digestAfterMs: 30_000 },
  discord: { chat: { max: 5, windowMs: 5_000 + 250 }, gapMs: (1_000 / 50) * 1.03, global: { max: 50, windowMs: 1_000 + 10 }, digestAfterMs: 30_000 },
  console: { chat: { max: 0, windowMs: 0 }, gapMs: 0, global: { max: 0, windowMs: 0 }, digestAfterMs: 30_000 },
} satisfies Record<string, PaceLimit>;

/** Every window and spacing divided by `k`: the same limits, `k` times faster (tests and benches against a stand-in). */
export function scaleLimits(k: number, limits = PLATFORM_LIMITS): typeof PLATFORM_LIMITS {
  const out = structuredClone(limits);
  for (const l of Object.values(out) as PaceLimit[]) {
    l.chat.windowMs /= k;
    l.global.windowMs /= k;
    l.gapMs /= k;
    l.digestAfterMs /= k;
  }
  return out;
}

/** How many messages a chat can take within its digest threshold at its own limit (Infinity when unlimited). */
export function backlogAllowance(l: PaceLimit): number {
  if (l.chat.max <= 0) return Infinity;
  return Math.max(1, Math.floor((l.digestAfterMs * l.chat.max) / l.chat.windowMs));
}

export function limitFor(d: Destination, limits = PLATFORM_LIMITS): PaceLimit {
  if (d.platform === 'console') return limits.console;
  if (d.platform === 'discord') return limits.discord;
  return (d.chatType ?? telegramChatType(d.chatId)) === 'group' ? limits.telegramGroup : limits.telegramPrivate;
}

// KEYS: 1 chat slots (list), 2 chat block-until, 3 platform grid (zset of slot indexes), 4 chat send log (see admit:
// a reservation also respects when earlier sends really went out), 5 first possibly free grid index
// ARGV: now, chatMax, chatWindowMs, gapMs, ttlMs. Returns the reserved slot (epoch ms, integer).
const RESERVE = new LuaScript('pdPaceReserve', `
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local gap = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local t = now
local block = tonumber(redis.call('GET', KEYS[2]) or '0')
if block > t then t = block end
if max > 0 then
  local sent = redis.call('ZCARD', KEYS[4])
  if sent >= max then
    -- A send still in flight (booked ahead, see ADMIT) may arrive any moment: count it as sent now.
    local s = math.min(now, tonumber(redis.call('ZRANGE', KEYS[4], sent - max, sent - max, 'WITHSCORES')[2]))
    if s + win > t then t = s + win end
  end
end
if max > 0 then
  local n = redis.call('LLEN', KEYS[1])
  if n > 0 then
    local last = tonumber(redis.call('LINDEX', KEYS[1], -1))
    if last > t then t = last end
    if n >= max then
      local s = tonumber(redis.call('LINDEX', KEYS[1], -max))
      if s + win > t then t = s + win end
    end
  end
end
if gap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', math.floor((now - 5000) / gap))
  -- KEYS[5]: every grid index from "now" up to this one is taken, so a burst does not re-walk them (O(1) per send).
  local k0 = math.ceil(t / gap)
  local low = tonumber(redis.call('GET', KEYS[5]) or '0')
  local k = math.max(k0, low)
  local contiguous = k0 <= low or t == now
  while redis.call('ZSCORE', KEYS[3], tostring(k)) do k = k + 1 end
  redis.call('ZADD', KEYS[3], k, tostring(k))
  redis.call('PEXPIRE', KEYS[3], ttl)
  if contiguous and k + 1 > low then redis.call('SET', KEYS[5], k + 1, 'PX', ttl) end
  t = k * gap
end
t = math.ceil(t)
if max > 0 then
  redis.call('RPUSH', KEYS[1], t)
  redis.call('LTRIM', KEYS[1], -max, -1)
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return t
`, 5);

// KEYS: 1 chat send log, 2 platform send log (zsets: ticket -> ms; the chat's keeps its newest chatMax sends).
// ARGV: chatMax, chatWin, gMax, gWin, ttl, inFlightMs, ticket. Times come from Redis's clock, shared by every process.
// An admitted send is booked `inFlightMs` ahead until FINISHED moves it to when the platform answered: a request that
// a busy process sends late still counts in every window it can land in. Waits treat it as sent now.
const ADMIT = new LuaScript('pdPaceAdmit', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local chatMax, chatWin = tonumber(ARGV[1]), tonumber(ARGV[2])
local gMax, gWin = tonumber(ARGV[3]), tonumber(ARGV[4])
local hold = tonumber(ARGV[6])
local wait = 0
if chatMax > 0 then
  local n = redis.call('ZCARD', KEYS[1])
  if n >= chatMax then
    local s = math.min(now, tonumber(redis.call('ZRANGE', KEYS[1], n - chatMax, n - chatMax, 'WITHSCORES')[2]))
    if s + chatWin - now > wait then wait = s + chatWin - now end
  end
end
if gMax > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - gWin))
  local n = redis.call('ZCARD', KEYS[2])
  if n >= gMax then
    local s = math.min(now, tonumber(redis.call('ZRANGE', KEYS[2], n - gMax, n - gMax, 'WITHSCORES')[2]))
    if s + gWin - now > wait then wait = s + gWin - now end
  end
end
if wait > 0 then return math.ceil(wait) end
if chatMax > 0 then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[7])
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(chatMax + 1))
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
end
if gMax > 0 then
  redis.call('ZADD', KEYS[2], now + hold, ARGV[7])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]))
end
return 0
`, 2);

// KEYS: 1 chat send log, 2 platform send log. ARGV: ticket. Moves this send's entries (not another's: two sends
// to one group can overlap) from "in flight" to its end time.
const FINISHED = new LuaScript('pdPaceFinished', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, 2 do
  if redis.call('ZSCORE', KEYS[i], ARGV[1]) then redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1]) end
end
return 1
`, 2);

/**
 * An admitted send that never reports its end stops counting as in flight after this: long enough for a request a
 * loaded process sends seconds late, short enough that a process killed mid-send blocks a private chat only briefly.
 */
const IN_FLIGHT_MS = 5_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', abort, { once: true });
  });

export class Pacer {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly limits = PLATFORM_LIMITS,
  ) {}

  // One hash tag per platform: the three keys of a reservation share a Redis Cluster slot.
  #keys(d: Destination): [string, string, string, string, string, string] {
    const tag = `${this.prefix}:pace:{${d.platform}}`;
    return [`${tag}:slots:${destKey(d)}`, `${tag}:block:${destKey(d)}`, `${tag}:grid`, `${tag}:chat-sent:${destKey(d)}`, `${tag}:grid-low`, `${tag}:sent-all`];
  }

  /** Reserves the next send slot for this destination; returns its time (>= now). */
  async reserve(d: Destination, now: number): Promise<number> {
    const l = limitFor(d, this.limits);
    const ttl = Math.max(l.chat.windowMs, 5_000) * 4 + 60_000;
    const slot = await RESERVE.run(this.redis, this.#keys(d).slice(0, 5), [now, l.chat.max, l.chat.windowMs, l.gapMs, ttl]);
    return Number(slot);
  }

  /**
   * The last gate before a send: `wait` 0 when the chat's and the platform's windows both have room — and then the
   * send is recorded at once, atomically with the check, on Redis's clock — or the milliseconds to wait. Reservations
   * only predict; a send that runs late (a slow API call, a wait for the chat's lock) is caught here, so it can never
   * squeeze a window. The sender calls `finished(d, ticket)` when the platform has answered.
   */
  async admitSend(d: Destination, inFlightMs = IN_FLIGHT_MS): Promise<{ wait: number; ticket: string }> {
    const ticket = randomUUID();
    const l = limitFor(d, this.limits);
    if (l.chat.max <= 0 && l.global.max <= 0) return { wait: 0, ticket };
    const [, , , sent, , global] = this.#keys(d);
    const ttl = Math.max(l.chat.windowMs, l.global.windowMs) * 2 + 60_000;
    const wait = await ADMIT.run(this.redis, [sent, global], [l.chat.max, l.chat.windowMs, l.global.max, l.global.windowMs, ttl, Math.max(0, Math.round(inFlightMs)), ticket]);
    return { wait: Math.max(0, Number(wait)), ticket };
  }

  /**
   * The admitted send has finished: its entries move to now. The platform saw it arrive before this moment, so
   * measuring the windows from here is safe however long the request took (and whatever jitter delayed it).
   */
  async finished(d: Destination, ticket: string): Promise<void> {
    const [, , , sent, , global] = this.#keys(d);
    await FINISHED.run(this.redis, [sent, global], [ticket]);
  }

  /**
   * Waits for this destination's turn, however long that is (the chat's window is the platform's, not ours to
   * stretch): reserves the next slot, sleeps until it, then passes the send-time gate. Returns the ticket to hand to
   * `finished()` once the platform has answered. Rejects only when `signal` aborts (shutdown).
   */
  async acquire(d: Destination, now: () => number, signal?: AbortSignal): Promise<string> {
    const t = now();
    const slot = await this.reserve(d, t);
    if (slot > t) await sleep(slot - t, signal);
    for (;;) {
      const { wait, ticket } = await this.admitSend(d);
      if (wait <= 0) return ticket;
      await sleep(wait, signal);
    }
  }

  /** The platform said "retry after": nothing goes to this chat before `until`. */
  async block(d: Destination, until: number): Promise<void> {
    const [, blockKey] = this.#keys(d);
    const ms = Math.max(1, Math.ceil(until - Date.now()) + 60_000);
    await this.redis.set(blockKey, String(Math.ceil(until)), 'PX', ms);
  }
}
