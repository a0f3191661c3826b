/**
 * The desk's ledger arithmetic: fills derived from what the venue showed of an order over time, realised PnL by
 * average cost, and per-symbol totals of realised PnL, fees and funding. Pure; the Redis side is
 * src/services/ledger.
 *
 * The venue reports an order as cumulative state (`filled_quantity`, `avg_price`). Each distinct cumulative state
 * seen is a point; the fills are the steps between consecutive points, priced by the change in avg × filled. The
 * fills of an order are therefore a function of the *set* of points seen, whatever order the answers came in.
 */
import { feeRate, fillLiquidity, FEE_SCHEDULE, type FeeSchedule, type Liquidity, type MarketKind } from './fees.js';

export interface OrderFacts {
  clientOrderId: string;
  symbol: string;
  market: MarketKind;
  side: 'buy' | 'sell';
  orderType: 'market' | 'limit';
  /** Limit price; null for a market order. */
  limit: number | null;
  /** What asked for it: `approval:<id>`, `plan:<id>`, or the client order id's own prefix. */
  ref: string;
}

/** One cumulative state of an order, as the venue's answers showed it. */
export interface FillPoint {
  filled: number;
  /** avg_price × filled. */
  notional: number;
  /** When it was first seen. */
  seenAt: number;
  /** Seen in the answer to the request that placed the order. */
  atPlacement: boolean;
}

export interface LedgerFill {
  clientOrderId: string;
  ref: string;
  symbol: string;
  market: MarketKind;
  side: 'buy' | 'sell';
  qty: number;
  price: number;
  notional: number;
  fee: number;
  liquidity: Liquidity;
  /** The order's cumulative filled quantity after this fill (with the client order id, the fill's identity). */
  filled: number;
  /** When the fill was first known: the earliest sighting of this or any later state of the order. */
  ts: number;
}

/** The fills between consecutive points (points at or below zero, and non-increasing notional noise, ignored). */
export function orderFills(o: OrderFacts, points: readonly FillPoint[], schedule: FeeSchedule = FEE_SCHEDULE): LedgerFill[] {
  const sorted = points.filter((p) => p.filled > 0 && Number.isFinite(p.filled) && Number.isFinite(p.notional)).sort((a, b) => a.filled - b.filled);
  // A fill happened no later than the first sighting of any state after it.
  const eff: number[] = new Array<number>(sorted.length);
  let min = Infinity;
  for (let i = sorted.length - 1; i >= 0; i--) {
    min = Math.min(min, sorted[i]!.seenAt);
    eff[i] = min;
  }
  const out: LedgerFill[] = [];
  let prevFilled = 0;
  let prevNotional = 0;
  sorted.forEach((p, i) => {
    const qty = p.filled - prevFilled;
    const notional = p.notional - prevNotional;
    prevFilled = p.filled;
    prevNotional = p.notional;
    const price = notional / qty;
    const liquidity = fillLiquidity({ orderType: o.orderType, side: o.side, limit: o.limit, price, atPlacement: p.atPlacement });
    out.push({
      clientOrderId: o.clientOrderId, ref: o.ref, symbol: o.symbol, market: o.market, side: o.side, qty, price, notional,
      fee: notional * feeRate(o.market, liquidity, schedule), liquidity, filled: p.filled, ts: eff[i]!,
    });
  });
  return out;
}

/** Time order of fills; ties broken by order id and cumulative quantity so every reader sequences them alike. */
export function compareFills(a: LedgerFill, b: LedgerFill): number {
  return a.ts - b.ts || (a.clientOrderId < b.clientOrderId ? -1 : a.clientOrderId > b.clientOrderId ? 1 : 0) || a.filled - b.filled;
}

/** The desk's position in one symbol by its own fills: signed quantity (+ long) at an average price. */
export interface Book {
  qty: number;
  avgPrice: number;
}

export const FLAT: Book = Object.freeze({ qty: 0, avgPrice: 0 });

const QTY_EPS = 1e-9;

/** Average cost: adding keeps a weighted entry; reducing realises (price − entry) per unit in the position's direction. */
export function applyFill(book: Book, side: 'buy' | 'sell', qty: number, price: number): { book: Book; realised: number } {
  const s = side === 'buy' ? 1 : -1;
  const held = Math.abs(book.qty);
  if (held <= QTY_EPS || Math.sign(book.qty) === s) {
    const size = held + qty;
    return { book: { qty: book.qty + s * qty, avgPrice: (held * book.avgPrice + qty * price) / size }, realised: 0 };
  }
  const closing = Math.min(qty, held);
  const realised = closing * (price - book.avgPrice) * Math.sign(book.qty);
  const left = held - closing;
  const opening = qty - closing;
  if (opening > QTY_EPS * Math.max(1, qty)) return { book: { qty: s * opening, avgPrice: price }, realised };
  if (left <= QTY_EPS * Math.max(1, held)) return { book: { ...FLAT }, realised };
  return { book: { qty: Math.sign(book.qty) * left, avgPrice: book.avgPrice }, realised };
}

export interface FundingSettlement {
  symbol: string;
  /** The funding stamp settled. */
  ts: number;
  /** + received, − paid. */
  amount: number;
}

export interface SymbolTotals {
  realised: number;
  /** Fees paid (positive). */
  fees: number;
  /** Funding received (+) or paid (−). */
  funding: number;
  fills: number;
  boughtQty: number;
  soldQty: number;
  boughtNotional: number;
  soldNotional: number;
}

export function emptyTotals(): SymbolTotals {
  return { realised: 0, fees: 0, funding: 0, fills: 0, boughtQty: 0, soldQty: 0, boughtNotional: 0, soldNotional: 0 };
}

/** realised + funding − fees. */
export function totalOf(t: Pick<SymbolTotals, 'realised' | 'fees' | 'funding'>): number {
  return t.realised + t.funding - t.fees;
}

export function addTotals(a: SymbolTotals, b: SymbolTotals): SymbolTotals {
  return {
    realised: a.realised + b.realised, fees: a.fees + b.fees, funding: a.funding + b.funding, fills: a.fills + b.fills,
    boughtQty: a.boughtQty + b.boughtQty, soldQty: a.soldQty + b.soldQty,
    boughtNotional: a.boughtNotional + b.boughtNotional, soldNotional: a.soldNotional + b.soldNotional,
  };
}

/** A point of the cumulative curves: PnL (realised + funding − fees) and funding alone, since the period began. */
export interface CurvePoint {
  ts: number;
  pnl: number;
  funding: number;
}

export interface LedgerTotals {
  bySymbol: Record<string, SymbolTotals>;
  /** Books after the last fill (start books carried through). */
  books: Record<string, Book>;
  curve: CurvePoint[];
}

/**
 * Runs fills (any order; sorted here) and settlements through the books from `start`: per-symbol totals, the books
 * at the end, and the cumulative curve.
 */
export function ledgerTotals(start: Readonly<Record<string, Book>>, fills: readonly LedgerFill[], funding: readonly FundingSettlement[]): LedgerTotals {
  const books: Record<string, Book> = {};
  for (const [s, b] of Object.entries(start)) books[s] = { ...b };
  const bySymbol: Record<string, SymbolTotals> = {};
  const at = (symbol: string) => (bySymbol[symbol] ??= emptyTotals());
  type Ev = { ts: number; fill?: LedgerFill; funding?: FundingSettlement };
  const events: Ev[] = [...fills].sort(compareFills).map((f) => ({ ts: f.ts, fill: f }));
  // Settlements go before fills at the same instant: a stamp settles the position held up to it.
  const sortedFunding = [...funding].sort((a, b) => a.ts - b.ts || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  const merged: Ev[] = [];
  let i = 0;
  for (const f of sortedFunding) {
    while (i < events.length && events[i]!.ts < f.ts) merged.push(events[i++]!);
    merged.push({ ts: f.ts, funding: f });
  }
  while (i < events.length) merged.push(events[i++]!);
  const curve: CurvePoint[] = [];
  let pnl = 0;
  let fundingSum = 0;
  for (const e of merged) {
    if (e.fill) {
      const f = e.fill;
      const t = at(f.symbol);
      const r = applyFill(books[f.symbol] ?? FLAT, f.side, f.qty, f.price);
      books[f.symbol] = r.book;
      t.realised += r.realised;
      t.fees += f.fee;
      t.fills += 1;
      if (f.side === 'buy') {
        t.boughtQty += f.qty;
        t.boughtNotional += f.notional;
      } else {
        t.soldQty += f.qty;
        t.soldNotional += f.notional;
      }
      pnl += r.realised - f.fee;
    } else if (e.funding) {
      at(e.funding.symbol).funding += e.funding.amount;
      pnl += e.funding.amount;
      fundingSum += e.funding.amount;
    }
    curve.push({ ts: e.ts, pnl, funding: fundingSum });
  }
  return { bySymbol, books, curve };
}

/** UTC day of a time, `YYYY-MM-DD`. */
export function utcDay(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

export const DAY_MS = 86_400_000;

/** Start (epoch ms) of a UTC day given as `YYYY-MM-DD`. */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}

/** What the venue showed of a symbol's funding at one moment: `GET /perp/funding` and `/perp/accrued-funding`. */
export interface FundingSample {
  at: number;
  /** next_funding_ts at the time. */
  stamp: number;
  /** Accrued funding of the open position (the venue counts it from the position's opening). */
  accrued: number;
  /** Position, signed (+ long, − short, 0 flat). */
  size: number;
}

/**
 * The settlement between a sample before a stamp and one after it: the change in accrued funding. A position
 * opened (or flipped) in between started its accrual at zero, so what it shows now is all it settled; one closed
 * in between shows nothing certain unless the venue still reports its accrual. `null`: nothing settled.
 */
export function settlementBetween(before: FundingSample, after: FundingSample): { amount: number; note?: string } | null {
  if (!(after.stamp > before.stamp) || after.at < before.stamp) return null;
  const was = Math.sign(before.size);
  const now = Math.sign(after.size);
  if (was === 0 && now === 0) return null;
  if (was === 0) return { amount: after.accrued, note: 'position opened between the samples' };
  if (now === 0) {
    if (after.accrued === 0 && before.accrued !== 0) return { amount: 0, note: 'position closed around the stamp; the venue shows no accrual after the close' };
    return { amount: after.accrued - before.accrued, note: 'position closed after the stamp' };
  }
  if (was !== now) return { amount: after.accrued, note: 'position flipped between the samples' };
  return { amount: after.accrued - before.accrued };
}
