/**
 * How the ledger's PnL reads in chat, for `/pnl` and the daily summary: a table per symbol and overall, notes on
 * positions opened outside PerpDesk, and the chart of cumulative PnL and funding.
 */
import type { ReplyImage, ReplyTable } from '../../chat/reply.js';
import { totalOf, type SymbolTotals } from '../../domain/ledger.js';
import type { Exchange, Position } from '../../exchange/port.js';
import { pct, signedUsd, usd, utc } from '../../format.js';
import type { Ledger } from './ledger.js';
import { pnlReport, type PnlReport } from './report.js';

export interface PnlView {
  report: PnlReport;
  table: ReplyTable | null;
  /** Symbols whose venue position the desk's own fills do not explain. */
  outside: string[];
  notes: string[];
  image: ReplyImage | null;
}

export interface PnlViewInput {
  ledger: Ledger;
  exchange: Pick<Exchange, 'positions'>;
  from: number;
  to: number;
  symbols?: readonly string[];
  /** Chart title, e.g. "PnL — last 7 days". */
  title: string;
  file: string;
  /** Positions now (fetched when omitted). */
  positions?: readonly Position[];
}

/** Quantities that differ by less than this (relative) are the same position. */
const SAME_QTY = 1e-6;

export async function pnlView(i: PnlViewInput): Promise<PnlView> {
  const [report, positions] = await Promise.all([
    pnlReport(i.ledger, { from: i.from, to: i.to, symbols: i.symbols }),
    i.positions ? Promise.resolve(i.positions) : i.exchange.positions(),
  ]);
  const bySymbol: Record<string, SymbolTotals> = { ...report.bySymbol };
  const outside: string[] = [];
  const notes: string[] = [];
  const books = report.books ?? {};
  for (const p of positions) {
    if (i.symbols && !i.symbols.includes(p.symbol)) continue;
    const venue = p.side === 'long' ? p.size : -p.size;
    const desk = books[p.symbol]?.qty ?? 0;
    if (Math.abs(venue - desk) <= SAME_QTY * Math.max(Math.abs(venue), 1e-9)) continue;
    outside.push(p.symbol);
    bySymbol[p.symbol] ??= { realised: 0, fees: 0, funding: 0, fills: 0, boughtQty: 0, soldQty: 0, boughtNotional: 0, soldNotional: 0 };
    notes.push(desk === 0
      ? `† ${p.symbol}: the ${p.side} position (${p.size}) was opened outside PerpDesk: funding is from the settlement samples; its price PnL is not in the ledger.`
      : `† ${p.symbol}: the venue holds ${venue} but the desk's fills account for ${desk}: the difference was traded outside PerpDesk (funding from the settlement samples covers all of it).`);
  }
  const symbols = Object.keys(bySymbol).sort();
  let table: ReplyTable | null = null;
  if (symbols.length) {
    const row = (name: string, t: SymbolTotals) => [name, signedUsd(t.realised), signedUsd(t.funding), usd(t.fees), signedUsd(totalOf(t))];
    const total = symbols.reduce((s, k) => {
      const t = bySymbol[k]!;
      return { ...s, realised: s.realised + t.realised, funding: s.funding + t.funding, fees: s.fees + t.fees };
    }, { realised: 0, funding: 0, fees: 0 } as SymbolTotals);
    table = {
      headers: ['Symbol', 'Realised', 'Funding', 'Fees', 'Total'],
      rows: [...symbols.map((s) => row(outside.includes(s) ? `${s} †` : s, bySymbol[s]!)), row('All', total)],
      align: ['left', 'right', 'right', 'right', 'right'],
    };
  }
  const image = report.curve.length ? await chartOf(report, i) : null;
  return { report: { ...report, bySymbol }, table, outside, notes, image };
}

async function chartOf(report: PnlReport, i: PnlViewInput): Promise<ReplyImage> {
  // Loaded on first use, like /backtest: vega is big and most processes never draw.
  const { renderLinesPng } = await import('../../backtest/lines-chart.js');
  const start = { t: report.from > 0 ? report.from : report.curve[0]!.ts, pnl: 0, funding: 0 };
  const last = report.curve[report.curve.length - 1]!;
  const end = { t: i.to, pnl: last.pnl, funding: last.funding };
  const pts = [start, ...report.curve.map((c) => ({ t: c.ts, pnl: c.pnl, funding: c.funding })), ...(end.t > last.ts ? [end] : [])];
  const chart = await renderLinesPng({
    title: i.title,
    subtitle: `${utc(start.t)} – ${utc(i.to)}`,
    series: [
      { name: 'PnL (realised + funding − fees)', color: '#1f5fa8', points: pts.map((p) => ({ t: p.t, v: p.pnl })) },
      { name: 'Funding', color: '#2e9e5b', points: pts.map((p) => ({ t: p.t, v: p.funding })) },
    ],
  });
  return { filename: i.file, data: chart.png, alt: `${i.title}: cumulative PnL and funding` };
}

/** The fee schedule line every PnL view carries (the venue reports no fees). */
export function feesFootnote(ledger: Ledger): string {
  const f = ledger.fees;
  return `Fees are estimates from the fee schedule (perp maker ${pct(f.perpMaker, 2)}, taker ${pct(f.perpTaker, 2)}; spot ${pct(f.spotTaker, 1)}). Funding: + received, − paid.`;
}
