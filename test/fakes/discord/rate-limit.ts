import type { RateLimitSpec } from './types.js';

export type TakeResult =
  | { ok: true; limit: number; remaining: number; resetAfterMs: number }
  | { ok: false; limit: number; retryAfterMs: number };

/** Per-key (here: per channel) limit over a sliding window: a request is accepted only while fewer than `limit`
 * were accepted in the last `windowMs`. Discord's buckets are fixed windows, which let a client burst up to twice
 * the limit across a reset; sliding is stricter on purpose, so a client that stays clean here stays clean there. */
export class SlidingWindowLimiter {
  private readonly accepted = new Map<string, number[]>();

  constructor(private readonly spec: RateLimitSpec) {}

  take(key: string, now: number = Date.now()): TakeResult {
    const { limit, windowMs } = this.spec;
    const times = (this.accepted.get(key) ?? []).filter((t) => now - t < windowMs);
    this.accepted.set(key, times);
    if (times.length >= limit) {
      return { ok: false, limit, retryAfterMs: (times[times.length - limit] ?? now) + windowMs - now };
    }
    times.push(now);
    // Reset-After is when the next slot frees up, which is all discord.js needs once Remaining hits 0.
    const freesAt = (times[Math.max(0, times.length - limit)] ?? now) + windowMs;
    return { ok: true, limit, remaining: limit - times.length, resetAfterMs: freesAt - now };
  }
}

/** `forceRateLimit`: the next N requests on a route are answered 429 whatever the bucket says. */
export class ForcedLimits {
  private readonly pending = new Map<string, { count: number; retryAfterMs: number }>();

  add(routeId: string, count: number, retryAfterMs: number): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`forceRateLimit count must be a positive integer, got ${count}`);
    if (!(retryAfterMs >= 0)) throw new Error(`forceRateLimit retryAfterMs must be >= 0, got ${retryAfterMs}`);
    const cur = this.pending.get(routeId);
    this.pending.set(routeId, { count: (cur?.count ?? 0) + count, retryAfterMs });
  }

  /** Consumes one forced 429 for the route, returning its retry-after, or null when none is pending. */
  take(routeId: string): number | null {
    const cur = this.pending.get(routeId);
    if (!cur) return null;
    if (cur.count <= 1) this.pending.delete(routeId);
    else cur.count -= 1;
    return cur.retryAfterMs;
  }
}

export function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

export function bucketHeaders(bucket: string, limit: number, remaining: number, resetAfterMs: number): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': String(remaining),
    'X-RateLimit-Reset': seconds(Date.now() + resetAfterMs),
    'X-RateLimit-Reset-After': seconds(resetAfterMs),
    'X-RateLimit-Bucket': bucket,
  };
}

/** The 429 Discord sends for a per-route limit. Retry-After carries the exact seconds (Discord rounds up to whole
 * seconds; keeping the fraction lets tests use sub-second windows), and there is no X-RateLimit-Global header because
 * discord.js treats its mere presence as a global limit. */
export function tooManyRequests(bucket: string, limit: number, retryAfterMs: number): {
  status: number;
  headers: Record<string, string>;
  body: { message: string; retry_after: number; global: boolean };
} {
  const retryAfter = Number(seconds(retryAfterMs));
  return {
    status: 429,
    headers: {
      ...bucketHeaders(bucket, limit, 0, retryAfterMs),
      'Retry-After': seconds(retryAfterMs),
      'X-RateLimit-Scope': 'user',
    },
    body: { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
  };
}
