/** At most `max` sends in any `windowMs` window. */
export interface WindowLimit {
  max: number;
  windowMs: number;
}

/** Telegram's documented bot limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). */
export interface RateLimits {
  /** Per private chat (positive chat id): 1 message per second. */
  privateChat: WindowLimit;
  /** Per group, supergroup or channel (negative chat id): 20 messages per minute. */
  groupChat: WindowLimit;
  /** Across all chats: 30 messages per second. */
  global: WindowLimit;
}

export const TELEGRAM_LIMITS: RateLimits = {
  privateChat: { max: 1, windowMs: 1_000 },
  groupChat: { max: 20, windowMs: 60_000 },
  global: { max: 30, windowMs: 1_000 },
};

/** Telegram's limits `k` times faster: every window divided by `k` (a quicker test or bench with the same shape). */
export function scaledLimits(k: number, limits: RateLimits = TELEGRAM_LIMITS): RateLimits {
  const w = (l: WindowLimit): WindowLimit => ({ max: l.max, windowMs: l.windowMs / k });
  return { privateChat: w(limits.privateChat), groupChat: w(limits.groupChat), global: w(limits.global) };
}

export type Admission = { ok: true } | { ok: false; scope: 'chat' | 'global'; retryAfter: number };

const GLOBAL = 'global';

/**
 * Sliding windows per chat and bot-wide. Only admitted sends use up the budget, so a client that
 * waits exactly `retry_after` seconds is always admitted next time.
 */
export class RateLimiter {
  private readonly sent = new Map<string, number[]>();

  constructor(private readonly limits: RateLimits) {}

  admit(chatId: number, now: number): Admission {
    const chatKey = `chat:${chatId}`;
    const chatLimit = chatId < 0 ? this.limits.groupChat : this.limits.privateChat;
    const chatWait = this.waitMs(chatKey, chatLimit, now);
    if (chatWait > 0) return { ok: false, scope: 'chat', retryAfter: toRetryAfter(chatWait) };
    const globalWait = this.waitMs(GLOBAL, this.limits.global, now);
    if (globalWait > 0) return { ok: false, scope: 'global', retryAfter: toRetryAfter(globalWait) };
    this.record(chatKey, now);
    this.record(GLOBAL, now);
    return { ok: true };
  }

  /** Milliseconds until one more send fits in the window; 0 when it fits now. */
  private waitMs(key: string, limit: WindowLimit, now: number): number {
    if (limit.max <= 0) return limit.windowMs;
    const times = (this.sent.get(key) ?? []).filter((t) => t > now - limit.windowMs);
    this.sent.set(key, times);
    if (times.length < limit.max) return 0;
    const oldestThatMustExpire = times[times.length - limit.max] as number;
    return oldestThatMustExpire + limit.windowMs - now;
  }

  private record(key: string, now: number): void {
    const times = this.sent.get(key) ?? [];
    times.push(now);
    this.sent.set(key, times);
  }
}

/** Telegram reports whole seconds, rounded up, never 0. */
function toRetryAfter(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
