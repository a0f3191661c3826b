import type { Redis } from 'ioredis';
import { destKey, telegramChatType, type Destination } from './alert-types.js';

/**
 * Per-destination pacing under the chat platforms' limits. Each send reserves a future slot in Redis (one Lua
 * call, so several processes share the budget): per chat at most `max` sends in any `windowMs` (FIFO, so one chat's
 * messages keep their order), and per platform a grid of slots `gapMs` apart (so many chats together stay under the
 * bot-wide rate). A job whose slot lies ahead is parked in BullMQ's delayed set until then.
 */
export interface PaceLimit {
  /** Per chat: at most `max` sends in any `windowMs` (0 = unlimited). */
  chat: { max: number; windowMs: number };
  /** Bot-wide minimum spacing between two sends of this platform (0 = none). */
  gapMs: number;
}

/**
 * The platforms' documented limits with a small safety margin, because the platform counts arrival times and ours
 * jitter by a few milliseconds after the slot: Telegram 1 msg/s per private chat, 20/min per group, 30/s overall;
 * Discord 5 per 5 s per channel, 50 requests/s per bot.
 */
export const PLATFORM_LIMITS = {
  telegramPrivate: { chat: { max: 1, windowMs: 1_000 + 120 }, gapMs: (1_000 / 30) * 1.06 },
  telegramGroup: { chat: { max: 20, windowMs: 60_000 + 500 }, gapMs: (1_000 / 30) * 1.06 },
  discord: { chat: { max: 5, windowMs: 5_000 + 250 }, gapMs: (1_000 / 50) * 1.06 },
  console: { chat: { max: 0, windowMs: 0 }, gapMs: 0 },
} satisfies Record<string, PaceLimit>;

export function limitFor(d: Destination, limits = PLATFORM_LIMITS): PaceLimit {
  if (d.platform === 'console') return limits.console;
  if (d.platform === 'discord') return limits.discord;
  return (d.chatType ?? telegramChatType(d.chatId)) === 'group' ? limits.telegramGroup : limits.telegramPrivate;
}

// KEYS: 1 chat slots (list), 2 chat block-until, 3 platform grid (zset of slot indexes)
// ARGV: now, chatMax, chatWindowMs, gapMs, ttlMs. Returns the reserved slot (epoch ms, integer).
const RESERVE = `
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local gap = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local t = now
local block = tonumber(redis.call('GET', KEYS[2]) or '0')
if block > t then t = block end
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
  local k = math.ceil(t / gap)
  while redis.call('ZSCORE', KEYS[3], tostring(k)) do k = k + 1 end
  redis.call('ZADD', KEYS[3], k, tostring(k))
  redis.call('PEXPIRE', KEYS[3], ttl)
  t = k * gap
end
t = math.ceil(t)
if max > 0 then
  redis.call('RPUSH', KEYS[1], t)
  redis.call('LTRIM', KEYS[1], -max, -1)
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return t
`;

export class Pacer {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits = PLATFORM_LIMITS,
  ) {}

  // One hash tag per platform: the three keys of a reservation share a Redis Cluster slot.
  #keys(d: Destination): [string, string, string] {
    const tag = `${this.prefix}:pace:{${d.platform}}`;
    return [`${tag}:slots:${destKey(d)}`, `${tag}:block:${destKey(d)}`, `${tag}:grid`];
  }

  /** Reserves the next send slot for this destination; returns its time (>= now). */
  async reserve(d: Destination, now: number): Promise<number> {
    const l = limitFor(d, this.limits);
    const ttl = Math.max(l.chat.windowMs, 5_000) * 4 + 60_000;
    const slot = await this.redis.eval(RESERVE, 3, ...this.#keys(d), now, l.chat.max, l.chat.windowMs, l.gapMs, ttl);
    return Number(slot);
  }

  /** The platform said "retry after": nothing goes to this chat before `until`. */
  async block(d: Destination, until: number): Promise<void> {
    const [, blockKey] = this.#keys(d);
    const ms = Math.max(1, Math.ceil(until - Date.now()) + 60_000);
    await this.redis.set(blockKey, String(Math.ceil(until)), 'PX', ms);
  }
}
