/**
 * Backoff arithmetic for the exchange client: jittered exponential delays, `Retry-After` parsing and an abortable
 * sleep. The loop that decides *whether* to retry lives in the client, because an order placement must never be
 * retried the way a read is.
 */

export interface BackoffPolicy {
  /** First delay ceiling; doubles per attempt. */
  baseDelayMs: number;
  /** Ceiling for any single backoff delay. */
  maxDelayMs: number;
}

/** "Full jitter": uniform in [0, min(max, base * 2^attempt)], so a crowd of clients does not retry in step. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(random() * ceiling);
}

/** `Retry-After` as milliseconds: delta seconds (integer or decimal) or an HTTP date; null when absent or invalid. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return null;
  return Math.max(0, at - nowMs);
}

export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

/** Resolves after `ms`, or rejects with `AbortedError` as soon as `signal` aborts (client closed). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
