import type { RateLimitSpec } from './types.js';

export type TakeResult =
  | { ok: true; limit: number; remaining: number; resetAfterMs: number }
  | { ok: false; limit: number; retryAfterMs: number };

/** Discord-style fixed bucket per key (here: per channel): the window opens on the first request after the last
 * one closed, and every request in it counts, so a client that ignores the headers is refused until it resets. */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly spec: RateLimitSpec) {}

  take(key: string, now: number = Date.now()): TakeResult {
    const { limit, windowMs } = this.spec;
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    const resetAfterMs = w.start + windowMs - now;
    if (w.count >= limit) return { ok: false, limit, retryAfterMs: resetAfterMs };
    w.count += 1;
    return { ok: true, limit, remaining: limit - w.count, resetAfterMs };
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
