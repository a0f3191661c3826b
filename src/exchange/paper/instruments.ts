/**
 * The paper exchange's listed markets. Tick/lot/minimums, maintenance margin and leverage limits are close to
 * what large venues list for these perpetuals; SOL funds hourly like many newer listings, BTC/ETH every 8 h.
 */
import type { Instrument } from '../port.js';

export interface SpotSpec {
  symbol: string;
  tickSize: number;
  lotSize: number;
  minQuantity: number;
}

export interface MarketSpec {
  perp: Instrument;
  /** The spot pair quoted at the perp's index price (hedge legs); null when the market has none. */
  spot: SpotSpec | null;
  initialPrice: number;
  /** Annualised volatility of the index random walk. */
  annualVol: number;
  /** Open interest at start, base units. */
  initialOi: number;
  /** Stationary standard deviation of the premium (mark vs index). */
  premiumSd: number;
}

function perp(
  base: string, tickSize: number, lotSize: number, maxLeverage: number, mmr: number, fundingIntervalHours: number,
): Instrument {
  return {
    symbol: `${base}-PERP`,
    base,
    quote: 'USD',
    tickSize,
    lotSize,
    minQuantity: lotSize,
    maxLeverage,
    maintenanceMarginRate: mmr,
    fundingIntervalHours,
  };
}

export const DEFAULT_MARKETS: readonly MarketSpec[] = [
  {
    perp: perp('BTC', 0.1, 0.001, 50, 0.004, 8),
    spot: { symbol: 'BTC-USD', tickSize: 0.01, lotSize: 0.00001, minQuantity: 0.0001 },
    initialPrice: 65_000,
    annualVol: 0.6,
    initialOi: 80_000,
    premiumSd: 0.0003,
  },
  {
    perp: perp('ETH', 0.01, 0.01, 50, 0.005, 8),
    spot: { symbol: 'ETH-USD', tickSize: 0.01, lotSize: 0.0001, minQuantity: 0.001 },
    initialPrice: 3_500,
    annualVol: 0.75,
    initialOi: 1_200_000,
    premiumSd: 0.0004,
  },
  {
    perp: perp('SOL', 0.001, 0.1, 20, 0.01, 1),
    spot: { symbol: 'SOL-USD', tickSize: 0.001, lotSize: 0.01, minQuantity: 0.01 },
    initialPrice: 150,
    annualVol: 1.0,
    initialOi: 9_000_000,
    premiumSd: 0.0008,
  },
];

/** `n` synthetic markets (benchmarks, load tests): `SYN0-PERP`, ... with BTC-like parameters. */
export function syntheticMarkets(n: number): MarketSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    perp: perp(`SYN${i}`, 0.01, 0.01, 20, 0.01, i % 2 === 0 ? 8 : 1),
    spot: { symbol: `SYN${i}-USD`, tickSize: 0.01, lotSize: 0.01, minQuantity: 0.01 },
    initialPrice: 10 + i,
    annualVol: 0.8,
    initialOi: 1_000_000,
    premiumSd: 0.0005,
  }));
}
