/**
 * Real venues' market data for commands and jobs: one live reading of every venue at once (each with its own
 * deadline), remembered as the latest reading per venue; plus the funding history behind `/spread`.
 */
import type { VenueOutcome, VenueReading, VenueSource } from '../../venues/types.js';
import type { Store } from '../store.js';
import { VenueFundingHistory } from './funding-history.js';
import { VenueReadings } from './readings.js';

export class VenueMarket {
  readonly readings: VenueReadings;
  readonly history: VenueFundingHistory;

  constructor(
    private readonly source: VenueSource,
    store: Store,
  ) {
    this.readings = new VenueReadings(store);
    this.history = new VenueFundingHistory(store);
  }

  get ids(): readonly string[] {
    return this.source.ids;
  }

  /** Every venue now, in MARKET_VENUES order; the good readings are stored as each venue's latest. */
  async snapshot(symbol: string): Promise<VenueOutcome[]> {
    const outcomes = await this.source.read(symbol);
    const ok = outcomes.filter((o): o is { ok: true; reading: VenueReading } => o.ok).map((o) => o.reading);
    await this.readings.put(ok);
    return outcomes;
  }
}
