/**
 * Each venue's funding APR per symbol over time (the venue sampler's samples), so `/spread` can say how long a gap
 * between two venues has held. Bounded: samples older than two days are trimmed on write.
 */
import { z } from 'zod';
import { key, type Store } from '../store.js';

export const FundingAprSample = z.object({ ts: z.number(), aprs: z.record(z.string(), z.number().finite()) });
export type FundingAprSample = z.infer<typeof FundingAprSample>;

export class VenueFundingHistory {
  constructor(
    private readonly store: Store,
    private readonly keepMs = 48 * 3600_000,
  ) {}

  #key(symbol: string): string {
    return key(this.store, 'venues', 'apr', symbol);
  }

  async add(symbol: string, s: FundingAprSample): Promise<void> {
    const k = this.#key(symbol);
    await this.store.redis
      .multi()
      .zremrangebyscore(k, s.ts, s.ts) // a retried job overwrites its sample, never duplicates it
      .zadd(k, s.ts, JSON.stringify(s))
      .zremrangebyscore(k, '-inf', `(${s.ts - this.keepMs}`)
      .exec();
  }

  async since(symbol: string, sinceTs: number): Promise<FundingAprSample[]> {
    const raw = await this.store.redis.zrangebyscore(this.#key(symbol), sinceTs, '+inf');
    const out: FundingAprSample[] = [];
    for (const r of raw) {
      const p = FundingAprSample.safeParse(JSON.parse(r));
      if (p.success) out.push(p.data);
    }
    return out;
  }
}
