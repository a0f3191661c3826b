import { z } from 'zod';
import { key, type Store } from './store.js';

export const CascadeRecord = z.object({
  symbol: z.string(),
  level: z.enum(['cascade', 'severe', 'extreme']),
  direction: z.enum(['long_liquidation', 'short_squeeze']),
  since: z.number(),
  /** Last sample time at level >= cascade: the state ends one cooldown after it. */
  lastHotAt: z.number(),
  oiChange: z.number(),
  priceChange: z.number(),
});
export type CascadeRecord = z.infer<typeof CascadeRecord>;

export const DEFAULT_CASCADE_COOLDOWN_MS = 600_000;

/**
 * Which symbols are "in cascade" (domain.md §7): from an alertable level until one cooldown passes with no sample
 * at level >= cascade. The detector writes it; order previews and the harvester read it (limit-only trading).
 */
export class CascadeState {
  constructor(
    private readonly store: Store,
    readonly cooldownMs = DEFAULT_CASCADE_COOLDOWN_MS,
  ) {}

  #key(symbol: string): string {
    return key(this.store, 'cascade', 'state', symbol);
  }

  async get(symbol: string): Promise<CascadeRecord | null> {
    const raw = await this.store.redis.get(this.#key(symbol));
    if (!raw) return null;
    const parsed = CascadeRecord.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  async active(symbol: string, now: number): Promise<CascadeRecord | null> {
    const rec = await this.get(symbol);
    return rec && now - rec.lastHotAt < this.cooldownMs ? rec : null;
  }

  async put(rec: CascadeRecord): Promise<void> {
    await this.store.redis.set(this.#key(rec.symbol), JSON.stringify(rec));
  }

  async clear(symbol: string): Promise<void> {
    await this.store.redis.del(this.#key(symbol));
  }
}
