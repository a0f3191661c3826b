/**
 * `/backtest` for chat: a transport-neutral result (title, labelled fields, PNG) that any adapter can render.
 * Runs on the shipped history, so the window ends where the data ends unless `to` is given.
 */
import { UserError } from '../errors.js';
import { loadHistory, parseTime } from './data.js';
import { BACKTEST_DEFAULTS, runBacktest, type BacktestMetrics, type BacktestParams } from './engine.js';
import { renderEquityPng } from './chart.js';
import { summaryFields, type SummaryField } from './summary.js';

const MS_PER_DAY = 86_400_000;
export const CHAT_DEFAULT_EQUITY = 10_000;
export const CHAT_MAX_DAYS = 3650;

export interface ChatBacktestRequest {
  symbol: string;
  days: number;
  /** Entry threshold as an annualised fraction (0.5 = 50 %). */
  minApr?: number;
  notional?: number;
  equity?: number;
  perpFeeRate?: number;
  spotFeeRate?: number;
  /** Exclusive end (ISO or epoch ms); default the end of the shipped data. */
  to?: string | number;
}

export interface ChatBacktestResult {
  title: string;
  fields: SummaryField[];
  /** Caveats to show under the fields (clipped range, stale prices, no fonts). */
  notes: string[];
  metrics: BacktestMetrics;
  png: Buffer;
}

function check(value: number, ok: boolean, id: string, message: string): number {
  if (!Number.isFinite(value) || !ok) throw new UserError(id, message);
  return value;
}

export function chatParams(req: ChatBacktestRequest): BacktestParams {
  const equity = req.equity ?? CHAT_DEFAULT_EQUITY;
  const notional = req.notional ?? equity;
  const minAnnRate = req.minApr ?? BACKTEST_DEFAULTS.minAnnRate;
  const perpFeeRate = req.perpFeeRate ?? BACKTEST_DEFAULTS.perpFeeRate;
  const spotFeeRate = req.spotFeeRate ?? BACKTEST_DEFAULTS.spotFeeRate;
  return {
    initialEquity: check(equity, equity > 0, 'invalid_equity', `equity must be > 0, got ${equity}`),
    notional: check(notional, notional > 0, 'invalid_size', `notional must be > 0, got ${notional}`),
    minAnnRate: check(minAnnRate, minAnnRate > 0, 'invalid_threshold', `min APR must be > 0 (0.5 = 50 %), got ${minAnnRate}`),
    perpFeeRate: check(perpFeeRate, perpFeeRate >= 0, 'invalid_fee', `perp fee must be >= 0, got ${perpFeeRate}`),
    spotFeeRate: check(spotFeeRate, spotFeeRate >= 0, 'invalid_fee', `spot fee must be >= 0, got ${spotFeeRate}`),
  };
}

export async function backtestForChat(req: ChatBacktestRequest): Promise<ChatBacktestResult> {
  if (!Number.isInteger(req.days) || req.days < 1 || req.days > CHAT_MAX_DAYS) {
    throw new UserError('invalid_days', `days must be a whole number from 1 to ${CHAT_MAX_DAYS}, got ${req.days}`);
  }
  const params = chatParams(req);
  // Find the data's end first so "last N days" means the last N days we actually have.
  const toMs = req.to === undefined ? (await loadHistory({ symbol: req.symbol })).last + 1 : parseTime(req.to, 'to');
  const history = await loadHistory({ symbol: req.symbol, from: Math.max(0, toMs - req.days * MS_PER_DAY), to: toMs });
  const run = runBacktest(history.series, params);
  const title = `${history.symbol} funding harvester, ${req.days} d`;
  const chart = await renderEquityPng({
    title,
    subtitle: `entry APR >= ${(params.minAnnRate * 100).toFixed(1)} %, notional ${params.notional.toLocaleString('en-US')}`,
    ts: history.series.ts,
    equity: run.equity,
    trades: run.trades,
    initialEquity: params.initialEquity,
  });
  const notes = [...history.notes];
  if (!chart.textRendered) notes.push('no font found on the server: the chart has no labels');
  return {
    title,
    fields: summaryFields(run, params, { first: history.first, last: history.last, settlements: history.series.ts.length }),
    notes,
    metrics: run.metrics,
    png: chart.png,
  };
}
