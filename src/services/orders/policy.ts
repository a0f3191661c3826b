/**
 * The desk's fixed order rules that are not environment variables. Each is a deliberate, reviewed number: change
 * it here, with a reason, not at a call site.
 */
import { FEE_SCHEDULE } from '../../domain/fees.js';

/** An approval click is refused when mark moved more than this since the preview: the preview no longer tells the truth. */
export const PRICE_TOLERANCE = 0.01;

/**
 * A fill at the touch may land this far above mark (spread and slippage): the per-order notional cap is checked at
 * mark plus this for market orders and crossing sell limits, so the filled notional stays under the cap. The paper
 * exchange's half spread is 0.005 %; a venue whose book is thinner than this can still fill beyond it.
 */
export const TOUCH_ALLOWANCE = 0.001;

/** domain.md §4: an order must not open with less than 10 % between mark and its liquidation price. */
export const MIN_LIQ_BUFFER = 0.1;

/** domain.md §7: during a cascade, limit orders only, within 0.5 % of mark. */
export const CASCADE_MAX_SLIPPAGE = 0.005;

/** The preview's size hint: risk this fraction of equity if a stop this far from entry is hit. */
export const DEFAULT_RISK_FRACTION = 0.01;
export const DEFAULT_STOP_DISTANCE = 0.02;

/**
 * Quarter-Kelly needs a track record the desk does not have yet, so the hint states its assumption openly: even
 * odds of a 2:1 payoff (a 4 % target against the 2 % stop). domain.md §5: quarter-Kelly until 100+ trades.
 */
export const KELLY_ASSUMPTION = { p: 0.5, b: 2, fraction: 0.25 } as const;

/** Funding against a position beyond this APR is "strongly against" (domain.md §8, fundingAgainstClose). */
export const FUNDING_AGAINST_APR = 1;

/** Closing within this long before a funding stamp forfeits (or dodges) that payment: say so. */
export const FUNDING_STAMP_WARN_MS = 10 * 60_000;

/**
 * Fee estimates for the preview. The Exchange port carries no fee schedule; these come from the one schedule the
 * ledger and the paper exchange use too (domain/fees.ts), labelled "est." wherever shown.
 */
export const EST_TAKER_FEE = FEE_SCHEDULE.perpTaker;
export const EST_MAKER_FEE = FEE_SCHEDULE.perpMaker;
