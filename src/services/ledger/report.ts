/**
 * Realised PnL, funding and fees over a period from the ledger: folded days from their totals, the open days from
 * the fills and settlements themselves (carried on from the last folded day's books).
 */
import {
  addTotals, DAY_MS, dayStart, emptyTotals, ledgerTotals, utcDay, type Book, type CurvePoint, type SymbolTotals,
} from '../../domain/ledger.js';
import { toSettlement, type Ledger } from './ledger.js';

export const PERIODS = ['day', 'week', 'month', 'all'] as const;
export type Period = (typeof PERIODS)[number];

/** `day` = today (UTC) so far; `week` and `month` = the last 7 and 30 UTC days, today included; `all` = everything. */
export function periodRange(period: Period, now: number): { from: number; to: number } {
  const today = dayStart(utcDay(now));
  const days = period === 'day' ? 1 : period === 'week' ? 7 : period === 'month' ? 30 : null;
  return { from: days === null ? 0 : today - (days - 1) * DAY_MS, to: now + 1 };
}

export interface PnlReport {
  from: number;
  to: number;
  bySymbol: Record<string, SymbolTotals>;
  total: SymbolTotals;
  /** Cumulative PnL (realised + funding − fees) and funding since `from`. */
  curve: CurvePoint[];
  /** The desk's books at `to` by its own fills (only when the range reaches the open days). */
  books: Record<string, Book> | null;
}

/** Totals for `[from, to)`, optionally only for some symbols. */
export async function pnlReport(ledger: Ledger, range: { from: number; to: number; symbols?: readonly string[] }): Promise<PnlReport> {
  const { from, to, symbols } = range;
  const keep = (s: string) => !symbols || symbols.includes(s);
  const cu = await ledger.closedUntil();
  let bySymbol: Record<string, SymbolTotals> = {};
  const curve: CurvePoint[] = [];
  let pnl = 0;
  let funding = 0;
  if (from < cu) {
    for (const d of await ledger.closedDays(from, Math.min(to, cu))) {
      for (const [s, t] of Object.entries(d.bySymbol)) {
        if (!keep(s)) continue;
        bySymbol[s] = addTotals(bySymbol[s] ?? emptyTotals(), t);
        pnl += t.realised + t.funding - t.fees;
        funding += t.funding;
      }
      curve.push({ ts: dayStart(d.day) + DAY_MS, pnl, funding });
    }
  }
  let books: Record<string, Book> | null = null;
  const openFrom = Math.max(from, cu);
  if (openFrom < to) {
    let start = await ledger.booksAt(cu);
    if (openFrom > cu) {
      const [fills, fund] = await Promise.all([ledger.fills(cu, openFrom, symbols), ledger.funding(cu, openFrom, symbols)]);
      start = ledgerTotals(start, fills, fund.map(toSettlement)).books;
    }
    const [fills, fund] = await Promise.all([ledger.fills(openFrom, to, symbols), ledger.funding(openFrom, to, symbols)]);
    const t = ledgerTotals(start, fills, fund.map(toSettlement));
    for (const [s, x] of Object.entries(t.bySymbol)) if (keep(s)) bySymbol[s] = addTotals(bySymbol[s] ?? emptyTotals(), x);
    for (const p of t.curve) curve.push({ ts: p.ts, pnl: pnl + p.pnl, funding: funding + p.funding });
    books = Object.fromEntries(Object.entries(t.books).filter(([s]) => keep(s)));
  }
  bySymbol = Object.fromEntries(Object.entries(bySymbol).sort(([a], [b]) => a.localeCompare(b)));
  const total = Object.values(bySymbol).reduce(addTotals, emptyTotals());
  return { from, to, bySymbol, total, curve, books };
}
