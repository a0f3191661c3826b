import { z } from 'zod';
import { key, type Store } from './store.js';

export const OiSample = z.object({ ts: z.number(), oi: z.number(), price: z.number() });
export type OiSample = z.infer<typeof OiSample>;
export const BasisSample = z.object({ ts: z.number(), basis: z.number() });
export type BasisSample = z.infer<typeof BasisSample>;

/**
 * Bounded time series in Redis sorted sets (score = ts): OI and mark per symbol for /oi and the cascade detector,
 * basis per symbol for /basis z-scores. Old samples are trimmed on write so memory stays bounded.
 */
export class SampleStore {
  constructor(
    private readonly store: Store,
    private readonly keepMs = 6 * 3600_000,
  ) {}

  async addOi(symbol: string, s: OiSample): Promise<void> {
    await this.#add(key(this.store, 'samples', 'oi', symbol), s.ts, JSON.stringify(s));
  }

  async addBasis(symbol: string, s: BasisSample): Promise<void> {
    await this.#add(key(this.store, 'samples', 'basis', symbol), s.ts, JSON.stringify(s));
  }

  async oiSince(symbol: string, sinceTs: number): Promise<OiSample[]> {
    return this.#range(key(this.store, 'samples', 'oi', symbol), sinceTs, OiSample);
  }

  async basisSince(symbol: string, sinceTs: number): Promise<BasisSample[]> {
    return this.#range(key(this.store, 'samples', 'basis', symbol), sinceTs, BasisSample);
  }

  async #add(k: string, ts: number, member: string): Promise<void> {
    await this.store.redis
      .multi()
      .zremrangebyscore(k, ts, ts) // one sample per timestamp: a retried job overwrites, never duplicates
      .zadd(k, ts, member)
      .zremrangebyscore(k, '-inf', `(${ts - this.keepMs}`)
      .exec();
  }

  async #range<T>(k: string, sinceTs: number, schema: z.ZodType<T>): Promise<T[]> {
    const raw = await this.store.redis.zrangebyscore(k, sinceTs, '+inf');
    const out: T[] = [];
    for (const r of raw) {
      const p = schema.safeParse(JSON.parse(r));
      if (p.success) out.push(p.data);
    }
    return out;
  }
}
