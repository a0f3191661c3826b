/**
 * The fee schedule PerpDesk assumes and how a fill is classed maker or taker. The venue API reports no fees, so
 * this is the one source of truth for every estimate: the order preview, the paper exchange's defaults and the
 * ledger all read it.
 */

export interface FeeSchedule {
  perpMaker: number;
  perpTaker: number;
  spotMaker: number;
  spotTaker: number;
}

/** Perp maker 0.02 %, taker 0.05 %; spot 0.1 % either way (typical venue defaults, also the paper exchange's). */
export const FEE_SCHEDULE: Readonly<FeeSchedule> = Object.freeze({ perpMaker: 0.0002, perpTaker: 0.0005, spotMaker: 0.001, spotTaker: 0.001 });

export type Liquidity = 'maker' | 'taker';
export type MarketKind = 'perp' | 'spot';

export function feeRate(market: MarketKind, liquidity: Liquidity, schedule: FeeSchedule = FEE_SCHEDULE): number {
  if (market === 'perp') return liquidity === 'maker' ? schedule.perpMaker : schedule.perpTaker;
  return liquidity === 'maker' ? schedule.spotMaker : schedule.spotTaker;
}

export interface FillClassInput {
  orderType: 'market' | 'limit';
  side: 'buy' | 'sell';
  /** The order's limit price (null for a market order). */
  limit: number | null;
  /** Average price of this fill. */
  price: number;
  /** The fill was already in the answer to the request that placed the order. */
  atPlacement: boolean;
}

/**
 * The venue's rule: an order that takes liquidity on arrival pays taker; one that rested on the book and was
 * filled later pays maker, at its limit. A later fill at a price better than the limit did not rest: it was
 * marketable and held back (a venue delay, the paper exchange's fill models), then crossed at the touch — taker.
 */
export function fillLiquidity(f: FillClassInput): Liquidity {
  if (f.orderType === 'market' || f.limit === null || f.atPlacement) return 'taker';
  const better = f.side === 'buy' ? f.price < f.limit * (1 - 1e-9) : f.price > f.limit * (1 + 1e-9);
  return better ? 'taker' : 'maker';
}
