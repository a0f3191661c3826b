/**
 * The ledger job: fills that no answer showed yet (a listing of every order, which the observed exchange
 * records), funding settlements of every position, folding of finished days, and the daily summary when due.
 */
import { recordFundingSettlements } from '../src/services/ledger/funding-recorder.js';
import { postDailySummary } from '../src/services/ledger/daily-summary.js';
import type { JobContext } from './job-context.js';

export interface LedgerRun {
  settlements: { symbol: string; ts: number; amount: number }[];
  folded: string[];
  summary: string;
}

export async function runLedger(ctx: JobContext): Promise<LedgerRun> {
  const ledger = ctx.ledger;
  if (!ledger) return { settlements: [], folded: [], summary: 'no ledger' };
  await Promise.all([ctx.exchange.listOrders(), ctx.exchange.listSpotOrders()]);
  const settled = await recordFundingSettlements({ store: ctx.store, ledger, exchange: ctx.exchange, now: ctx.now });
  const folded = await ledger.foldDays(ctx.now());
  const summary = await postDailySummary({
    store: ctx.store, ledger, exchange: ctx.exchange, alerts: ctx.alerts, now: ctx.now, hour: ctx.config.DAILY_SUMMARY_HOUR,
  });
  if (settled.length || folded.length || summary.outcome === 'posted') {
    ctx.log.info({ settlements: settled.length, folded, summary: summary.outcome }, 'ledger updated');
  }
  return { settlements: settled.map((s) => ({ symbol: s.symbol, ts: s.ts, amount: s.amount })), folded, summary: summary.outcome };
}
