/**
 * The paper engine's persistent state, as plain JSON-able records, with zod schemas so a state read back from
 * Redis is checked before the engine trusts it.
 */
import { z } from 'zod';

const fin = z.number().finite();

export const CascadeState = z.object({
  priceFactor: fin,
  oiFactor: fin,
  stepsLeft: z.number().int().nonnegative(),
});
export type CascadeState = z.infer<typeof CascadeState>;

export const MarketState = z.object({
  symbol: z.string(),
  index: fin,
  mark: fin,
  premium: fin,
  /** Open interest, base units. */
  oi: fin,
  /** Multiplier on a replayed series: setPrice and cascades move the whole replay. */
  replayScale: fin,
  rng: z.number().int().nonnegative(),
  /** Time-weighted premium sum and its duration since the last funding stamp. */
  premiumSum: fin,
  premiumMs: fin,
  nextFundingTs: z.number().int(),
  lastSettledRate: fin.nullable(),
  fundingOverride: fin.nullable(),
  cascade: CascadeState.nullable(),
});
export type MarketState = z.infer<typeof MarketState>;

export const PositionState = z.object({
  symbol: z.string(),
  side: z.enum(['long', 'short']),
  size: fin,
  entry: fin,
  margin: fin,
  leverage: fin,
  liq: fin.nullable(),
  openedAt: z.number().int(),
});
export type PositionState = z.infer<typeof PositionState>;

export const OrderState = z.object({
  orderId: z.string(),
  clientOrderId: z.string(),
  market: z.enum(['perp', 'spot']),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  orderType: z.enum(['market', 'limit']),
  quantity: fin,
  price: fin.nullable(),
  status: z.enum(['new', 'partially_filled', 'filled', 'canceled', 'rejected']),
  filledQuantity: fin,
  avgPrice: fin.nullable(),
  reduceOnly: z.boolean(),
  leverage: fin,
  timeInForce: z.enum(['gtc', 'ioc']),
  /** Quote held for a resting order (margin for perp, cost for a spot buy). */
  reserved: fin,
  /** Base held for a resting spot sell. */
  reservedBase: fin,
  fee: fin,
  rejectReason: z.string().optional(),
  /**
   * Held back by a fill model (`partial`, `resting`): marketable, but not filled while the model is set. Once the
   * symbol is back to `normal` it fills at the next market move (at the touch, within its limit).
   */
  held: z.boolean().optional(),
  ts: z.number().int(),
});
export type OrderState = z.infer<typeof OrderState>;

export const LiquidationRecord = z.object({
  symbol: z.string(),
  side: z.enum(['long', 'short']),
  size: fin,
  entry: fin,
  liqPrice: fin,
  markPrice: fin,
  marginLost: fin,
  ts: z.number().int(),
});
export type LiquidationRecord = z.infer<typeof LiquidationRecord>;

export const FundingRecord = z.object({
  symbol: z.string(),
  ts: z.number().int(),
  rate: fin,
  markPrice: fin,
  /** What this account received (+) or paid (-); 0 with no position. */
  payment: fin,
});
export type FundingRecord = z.infer<typeof FundingRecord>;

/**
 * How marketable orders in one symbol (perp or spot) fill on arrival: a scenario control to rehearse what real
 * venues do. `partial` fills `fraction` of the quantity now and holds the rest; `resting` fills nothing now and
 * holds it all; `reject` answers with a `rejected` order. A symbol without a model fills in full (`normal`).
 */
export const FILL_MODES = ['partial', 'resting', 'reject'] as const;
export const FillModel = z.object({
  mode: z.enum(FILL_MODES),
  /** Share filled on arrival by `partial` (0 < fraction < 1), rounded down to the lot. */
  fraction: z.number().gt(0).lt(1).optional(),
});
export type FillModel = z.infer<typeof FillModel>;

/** Feeds a scenario can freeze (feed-freeze.ts). */
export const PAPER_FEEDS = ['mark', 'funding', 'oi'] as const;
const TickerSnap = z.object({ symbol: z.string(), markPrice: fin, indexPrice: fin, lastPrice: fin, ts: z.number().int() });
const FundingSnap = z.object({ symbol: z.string(), currentRate: fin, predictedRate: fin.nullable(), nextFundingTs: z.number().int(), fundingIntervalHours: fin });
const OiSnap = z.object({ symbol: z.string(), openInterest: fin, openInterestUsd: fin, ts: z.number().int() });

export const FrozenFeed = z.object({
  mode: z.enum(['stale', 'fail']),
  since: z.number().int(),
  ticker: TickerSnap.optional(),
  funding: FundingSnap.optional(),
  oi: OiSnap.optional(),
});
export type FrozenFeed = z.infer<typeof FrozenFeed>;
/** By symbol, then feed. */
export const FrozenFeeds = z.record(z.string(), z.record(z.string(), FrozenFeed));


/** Everything but the orders, which persist one by one (they are most of the state and change one at a time). */
export const CoreState = z.object({
  version: z.literal(1),
  now: z.number().int(),
  seq: z.number().int().nonnegative(),
  wallet: fin,
  spot: z.record(z.string(), fin),
  markets: z.record(z.string(), MarketState),
  positions: z.record(z.string(), PositionState),
  accrued: z.record(z.string(), fin),
  liquidations: z.array(LiquidationRecord),
  fundingHistory: z.array(FundingRecord),
  /** Fill models by symbol (absent: normal); older saved states have none. */
  fillModels: z.record(z.string(), FillModel).default({}),
  /** Feeds frozen by the scenario control (feed-freeze.ts); older saved states have none. */
  frozenFeeds: FrozenFeeds.default({}),
});
export type CoreState = z.infer<typeof CoreState>;
