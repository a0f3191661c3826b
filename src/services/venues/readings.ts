/**
 * The latest reading per venue and symbol (funding, mark, open interest, when it was read), kept in Redis so every
 * process sees what the sampler or a command last read: `/alert` rules that name a venue, `/spread`, and anyone
 * asking "what did bybit say about BTC-PERP, and when?".
 */
import { z } from 'zod';
import type { VenueReading } from '../../venues/types.js';
import { key, type Store } from '../store.js';

const N = z.number().finite();
const NN = N.nullable();
export const VenueReadingSchema = z.object({
  venue: z.string(),
  symbol: z.string(),
  market: z.string(),
  fundingRate: N,
  predictedRate: NN,
  intervalHours: NN,
  intervalSource: z.string().nullable(),
  nextFundingTs: NN,
  markPrice: NN,
  openInterest: NN,
  openInterestUsd: NN,
  takerFee: NN,
  ts: N,
}) satisfies z.ZodType<VenueReading>;

export class VenueReadings {
  constructor(private readonly store: Store) {}

  #key(symbol: string): string {
    return key(this.store, 'venues', 'latest', symbol);
  }

  /** Stores each reading unless a newer one of the same venue and symbol is already there. */
  async put(readings: readonly VenueReading[]): Promise<void> {
    for (const r of readings) {
      const k = this.#key(r.symbol);
      const old = await this.latest(r.symbol, r.venue);
      if (old && old.ts > r.ts) continue;
      await this.store.redis.hset(k, r.venue, JSON.stringify(r));
    }
  }

  /** The latest reading of one venue for one symbol, or null. */
  async latest(symbol: string, venue: string): Promise<VenueReading | null> {
    const raw = await this.store.redis.hget(this.#key(symbol), venue);
    return raw === null ? null : parseReading(raw);
  }

  /** Every venue's latest reading of a symbol. */
  async forSymbol(symbol: string): Promise<VenueReading[]> {
    const all = await this.store.redis.hgetall(this.#key(symbol));
    return Object.values(all).map(parseReading).filter((r): r is VenueReading => r !== null);
  }
}

function parseReading(raw: string): VenueReading | null {
  try {
    const p = VenueReadingSchema.safeParse(JSON.parse(raw));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}
