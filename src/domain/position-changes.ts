/**
 * Positions that changed without the desk (issue 18): compare the last known position with the venue's, net of
 * what the desk's own orders filled in between, and name the most likely reason for what is left.
 *
 * The rules, in order, for a position that shrank or vanished beyond what the desk's orders explain:
 * 1. **liquidation** — it vanished (or flipped) and the mark was at or through its liquidation price, either at the
 *    last look or now. Price = the liquidation price; realised loss = the isolated margin, which is what a venue keeps.
 * 2. **auto-deleveraging** — it shrank while in profit (the venue picks the most profitable opposite positions when a
 *    bankrupt one cannot be closed in the market) and the market was in distress: a cascade was active in the symbol,
 *    or the mark moved at least `adlMove` (default 2 %) since the last look. Price ≈ the current mark.
 * 3. **outside close** — anything else: someone closed it at the venue, outside PerpDesk. Price ≈ the current mark;
 *    realised PnL estimated from the entry.
 * Growth beyond the desk's orders (or a position where there was none) is an **outside open**.
 * A venue reports none of this to us, so these are readings, not facts: the alert says "most likely".
 */
import type { Side } from './liquidation.js';
import { gte } from './numbers.js';
import { domainError, type Result } from './result.js';

export type { Side };

export interface KnownPosition {
  symbol: string;
  side: Side;
  size: number;
  entry: number;
  /** Mark at the last look. */
  mark: number;
  liq: number | null;
  margin: number;
}

export interface VenuePosition {
  side: Side;
  size: number;
  entry: number;
  mark: number;
}

export type ChangeReason = 'liquidation' | 'adl' | 'outside_close' | 'outside_open';

export interface PositionChange {
  reason: ChangeReason;
  /** `closed`: gone entirely; `reduced`: smaller; `opened`: new; `increased`: larger. */
  what: 'closed' | 'reduced' | 'opened' | 'increased';
  side: Side;
  /** Base quantity that changed outside the desk (never negative). */
  quantity: number;
  /** Most likely price of the change: the liquidation price, or the mark. */
  price: number;
  /** Realised PnL of the part that went (+ gain, - loss); null when it cannot be known (an open). */
  realizedPnl: number | null;
  /** Whether `realizedPnl` is an estimate at `price` rather than what the venue takes (the margin). */
  estimated: boolean;
}

export interface PositionChangeInput {
  before: KnownPosition | null;
  after: VenuePosition | null;
  /** Signed base quantity the desk's own orders filled in the symbol since `before` was seen (+ bought, - sold). */
  deskDelta: number;
  lotSize: number;
  /** The mark now (a fresh ticker), when known: a vanished position has no mark of its own any more. */
  markNow: number | null;
  /** A liquidation cascade is active in the symbol. */
  cascadeActive: boolean;
  /** Mark move since the last look that counts as distress for the ADL rule (default 0.02). */
  adlMove?: number;
}

export const DEFAULT_ADL_MOVE = 0.02;

const signOf = (side: Side): 1 | -1 => (side === 'long' ? 1 : -1);

function signed(p: { side: Side; size: number } | null): number {
  return p ? signOf(p.side) * p.size : 0;
}

function finite(x: number): boolean {
  return typeof x === 'number' && Number.isFinite(x);
}

/** What changed beyond the desk's own fills, with its most likely reason (see the file comment); [] when nothing. */
export function positionChanges(input: PositionChangeInput): Result<PositionChange[]> {
  const { before, after, deskDelta, lotSize, markNow, cascadeActive } = input;
  const adlMove = input.adlMove ?? DEFAULT_ADL_MOVE;
  if (!(finite(lotSize) && lotSize > 0)) return domainError('invalid_lot_size');
  if (!finite(deskDelta)) return domainError('invalid_size');
  for (const p of [before, after]) {
    if (p && !(finite(p.size) && p.size >= 0)) return domainError('invalid_size');
    if (p && !(finite(p.entry) && p.entry > 0 && finite(p.mark) && p.mark > 0)) return domainError('invalid_price');
  }
  if (markNow !== null && !(finite(markNow) && markNow > 0)) return domainError('invalid_price');
  if (!(finite(adlMove) && adlMove >= 0)) return domainError('invalid_threshold');

  const half = lotSize / 2;
  const was = signed(before);
  const now = signed(after);
  const expected = was + deskDelta;
  const outside = now - expected;
  if (Math.abs(outside) <= half) return [];

  const out: PositionChange[] = [];
  // The part of the outside change that shrank the position the desk expected (toward zero, at most to zero).
  const shrink = expected !== 0 && Math.sign(outside) !== Math.sign(expected) ? Math.min(Math.abs(outside), Math.abs(expected)) : 0;
  const grow = Math.abs(outside) - shrink;
  if (shrink > half) {
    const side: Side = expected > 0 ? 'long' : 'short';
    const gone = after === null || after.size <= half || after.side !== side;
    const mark = markNow ?? after?.mark ?? before?.mark;
    if (before && before.side === side) out.push(shrinkChange(before, shrink, gone, mark ?? before.mark, markNow, cascadeActive, adlMove));
    // A position the desk opened since the last look, cut by someone else before we saw it: no entry, no liquidation price.
    else out.push({ reason: 'outside_close', what: gone ? 'closed' : 'reduced', side, quantity: shrink, price: mark ?? 0, realizedPnl: null, estimated: true });
  }
  if (grow > half) {
    const side: Side = outside > 0 ? 'long' : 'short';
    const fresh = expected === 0 || Math.sign(expected) !== Math.sign(outside);
    out.push({ reason: 'outside_open', what: fresh ? 'opened' : 'increased', side, quantity: grow, price: after?.entry ?? markNow ?? 0, realizedPnl: null, estimated: false });
  }
  return out;
}

function shrinkChange(before: KnownPosition, quantity: number, gone: boolean, mark: number, markNow: number | null, cascadeActive: boolean, adlMove: number): PositionChange {
  const s = signOf(before.side);
  const what = gone ? 'closed' : 'reduced';
  if (gone && before.liq !== null && (crossed(before.side, before.mark, before.liq) || (markNow !== null && crossed(before.side, markNow, before.liq)))) {
    // The isolated margin is what the venue keeps; a partial liquidation (rare on isolated margin) loses its share.
    return { reason: 'liquidation', what, side: before.side, quantity, price: before.liq, realizedPnl: -before.margin * (quantity / before.size), estimated: false };
  }
  const pnl = s * quantity * (mark - before.entry);
  const inProfit = s * (before.mark - before.entry) > 0 && s * (mark - before.entry) > 0;
  const moved = Math.abs(mark - before.mark) / before.mark;
  const distress = cascadeActive || gte(moved, adlMove);
  return { reason: inProfit && distress ? 'adl' : 'outside_close', what, side: before.side, quantity, price: mark, realizedPnl: pnl, estimated: true };
}

/** The mark at or through the liquidation price: at it counts (prices compare exactly; §0's 1e-12 is for ratios). */
export function crossed(side: Side, mark: number, liq: number): boolean {
  return side === 'long' ? mark <= liq : mark >= liq;
}
