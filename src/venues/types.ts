/**
 * What a real venue's market data looks like to PerpDesk (issue 17), whatever ccxt exchange it came from. Rates are
 * per the venue's own interval (domain.md §1); an interval the venue did not state is null, never a guess.
 */

export interface VenueReading {
  /** ccxt id, e.g. `bybit`. */
  venue: string;
  /** The desk's symbol, e.g. `BTC-PERP`. */
  symbol: string;
  /** ccxt's unified symbol of the venue's market, e.g. `BTC/USDT:USDT`. */
  market: string;
  /** Current rate per interval. */
  fundingRate: number;
  /** The venue's own prediction of the next interval's rate; null when it publishes none. */
  predictedRate: number | null;
  intervalHours: number | null;
  /** Where the interval was read, in words (`instrument info`, `settlement history`, …); null when unknown. */
  intervalSource: string | null;
  nextFundingTs: number | null;
  markPrice: number | null;
  /** Open interest in base units and in quote (USD); null when the venue gave none. */
  openInterest: number | null;
  openInterestUsd: number | null;
  /** Taker fee rate of this market from ccxt's market data (default tier); null when it has none. */
  takerFee: number | null;
  /** When PerpDesk read it (epoch ms). */
  ts: number;
}

export type VenueFailureReason = 'timeout' | 'rate_limited' | 'bad_answer' | 'unavailable' | 'no_market';

export interface VenueFailure {
  venue: string;
  symbol: string;
  reason: VenueFailureReason;
  /** For `rate_limited`: how long the venue asked us to wait (its Retry-After), when it said. */
  retryAfterMs?: number;
  /** One line for people; never a URL with a proxy's credentials. */
  detail: string;
}

export type VenueOutcome = { ok: true; reading: VenueReading } | { ok: false; failure: VenueFailure };

/** The market-data side of the venues, as services see it (MarketVenues, or anything shaped like it). */
export interface VenueSource {
  readonly ids: readonly string[];
  /** Every venue at once, each with its own deadline; in `ids` order. Never rejects. */
  read(symbol: string): Promise<VenueOutcome[]>;
  close(): Promise<void>;
}
