/**
 * Funding-harvester backtest (domain.md §9): short perp + long spot, entered and left by the same rule as the live
 * harvester. One loop (`runBacktest`) over column arrays; `backtestHarvester` is the vector-shaped wrapper.
 */
import { harvesterShouldEnter, harvesterShouldExit } from '../domain/harvester-thresholds.js';

const HOURS_PER_YEAR = 8760;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** Settlement events as columns, one index per real settlement, `ts` strictly increasing (epoch ms). */
export interface EventColumns {
  readonly ts: Float64Array;
  readonly rate: Float64Array;
  readonly intervalHours: Float64Array;
  readonly perp: Float64Array;
  readonly spot: Float64Array;
}

export interface BacktestParams {
  readonly initialEquity: number;
  readonly notional: number;
  readonly minAnnRate: number;
  readonly perpFeeRate: number;
  readonly spotFeeRate: number;
}

export const BACKTEST_DEFAULTS = { minAnnRate: 0.5, perpFeeRate: 0.0005, spotFeeRate: 0.001 } as const;

/** Exactly the domain.md §9 result object. `fees` is negative (money paid). */
export interface BacktestMetrics {
  finalEquity: number;
  totalReturn: number;
  apr: number | null;
  maxDrawdown: number;
  sharpe: number | null;
  trades: number;
  funding: number;
  fees: number;
  pricePnl: number;
}

/** One round trip. Every trade is closed: the last event force-closes an open position. */
export interface TradeRecord {
  entryTs: number;
  exitTs: number;
  qty: number;
  perpEntry: number;
  spotEntry: number;
  perpExit: number;
  spotExit: number;
  /** Settlements credited while open. */
  settlements: number;
  funding: number;
  /** Negative: open and close fees of both legs. */
  fees: number;
  /** Basis convergence: qty*(perpEntry - perpExit) + qty*(spotExit - spotEntry). */
  pricePnl: number;
}

export interface BacktestRun {
  metrics: BacktestMetrics;
  /** Equity before the first event, then after each event: length = events + 1. */
  equity: Float64Array;
  trades: TradeRecord[];
  hoursInMarket: number;
  /** hoursInMarket / hours(first..last); 0 when the series spans no time. */
  timeInMarket: number;
  settlementsInMarket: number;
}

export interface RunOptions {
  /** Reuse a buffer (length >= events + 1) across runs, e.g. in a parameter sweep. */
  equityOut?: Float64Array;
  /** Skip the per-trade records (a sweep only needs the metrics). Default true. */
  recordTrades?: boolean;
}

/**
 * Runs the harvester over `series`. Trusts its input: callers validate first (`backtestHarvester`,
 * `loadHistory`). Allocates nothing per step; only one record per trade.
 */
export function runBacktest(series: EventColumns, params: BacktestParams, options: RunOptions = {}): BacktestRun {
  const { ts, rate, intervalHours, perp, spot } = series;
  const n = ts.length;
  if (n === 0) throw new RangeError('runBacktest needs at least one event');
  const equity = options.equityOut ?? new Float64Array(n + 1);
  if (equity.length < n + 1) throw new RangeError('equityOut is shorter than events + 1');
  const recordTrades = options.recordTrades ?? true;
  const { initialEquity: eq0, notional, minAnnRate: minAnn, perpFeeRate, spotFeeRate } = params;

  const tradeList: TradeRecord[] = [];
  let realised = 0;
  let fundingTotal = 0;
  let feesTotal = 0;
  let priceTotal = 0;
  let trades = 0;
  let open = false;
  let qty = 0;
  let perpEntry = 0;
  let spotEntry = 0;
  let entryTs = 0;
  let tradeFunding = 0;
  let tradeFees = 0;
  let tradeSettlements = 0;
  let settlementsInMarket = 0;
  let msInMarket = 0;

  let peak = eq0;
  let maxDrawdown = 0;
  equity[0] = eq0;

  // Daily returns for Sharpe, accumulated online (Welford) so the loop stays allocation-free.
  // Start of the next UTC day: comparing against it avoids a floor per step.
  let nextDay = (Math.floor((ts[0] as number) / MS_PER_DAY) + 1) * MS_PER_DAY;
  let prevDayEquity = eq0;
  let dayEquity = eq0;
  let nReturns = 0;
  let meanReturn = 0;
  let m2Return = 0;

  const last = n - 1;
  for (let i = 0; i < n; i++) {
    const t = ts[i] as number;
    const r = rate[i] as number;
    const pp = perp[i] as number;
    const sp = spot[i] as number;

    // 1. Funding counts only for a position already open at this stamp.
    if (open) {
      const f = qty * pp * r;
      fundingTotal += f;
      realised += f;
      tradeFunding += f;
      tradeSettlements++;
      settlementsInMarket++;
    }
    // 2. Signal from the rate that just settled: no look-ahead.
    const ann = (r * HOURS_PER_YEAR) / (intervalHours[i] as number);
    // 3. Decide. No entry on the last event (it could never earn funding); the last event closes.
    if (!open) {
      if (i !== last && harvesterShouldEnter(ann, minAnn)) {
        qty = notional / pp;
        const fee = qty * pp * perpFeeRate + qty * sp * spotFeeRate;
        feesTotal += fee;
        realised -= fee;
        perpEntry = pp;
        spotEntry = sp;
        entryTs = t;
        tradeFunding = 0;
        tradeFees = fee;
        tradeSettlements = 0;
        open = true;
        trades++;
      }
    } else if (i === last || harvesterShouldExit(ann, minAnn)) {
      const pnl = qty * (perpEntry - pp) + qty * (sp - spotEntry);
      const fee = qty * pp * perpFeeRate + qty * sp * spotFeeRate;
      priceTotal += pnl;
      feesTotal += fee;
      realised += pnl - fee;
      msInMarket += t - entryTs;
      open = false;
      if (recordTrades) {
        tradeList.push({
          entryTs, exitTs: t, qty, perpEntry, spotEntry, perpExit: pp, spotExit: sp,
          settlements: tradeSettlements, funding: tradeFunding, fees: noNegZero(-(tradeFees + fee)), pricePnl: pnl,
        });
      }
    }
    // 4. Mark to market.
    let e = eq0 + realised;
    if (open) e += qty * (perpEntry - pp) + qty * (sp - spotEntry);
    equity[i + 1] = e;
    if (e > peak) peak = e;
    const dd = (peak - e) / peak;
    if (dd > maxDrawdown) maxDrawdown = dd;

    if (t >= nextDay) {
      const ret = dayEquity / prevDayEquity - 1;
      nReturns++;
      const delta = ret - meanReturn;
      meanReturn += delta / nReturns;
      m2Return += delta * (ret - meanReturn);
      prevDayEquity = dayEquity;
      nextDay = (Math.floor(t / MS_PER_DAY) + 1) * MS_PER_DAY;
    }
    dayEquity = e;
  }
  {
    const ret = dayEquity / prevDayEquity - 1;
    nReturns++;
    const delta = ret - meanReturn;
    meanReturn += delta / nReturns;
    m2Return += delta * (ret - meanReturn);
  }

  const finalEquity = equity[n] as number;
  const totalReturn = finalEquity / eq0 - 1;
  const hours = ((ts[last] as number) - (ts[0] as number)) / MS_PER_HOUR;
  let sharpe: number | null = null;
  if (nReturns >= 2 && m2Return > 0) {
    const s = (meanReturn / Math.sqrt(m2Return / (nReturns - 1))) * Math.sqrt(365);
    // Equity wiped out (a day ending at 0) makes returns infinite: no meaningful Sharpe.
    if (Number.isFinite(s)) sharpe = noNegZero(s);
  }
  const hoursInMarket = msInMarket / MS_PER_HOUR;
  return {
    metrics: {
      finalEquity: noNegZero(finalEquity),
      totalReturn: noNegZero(totalReturn),
      apr: hours > 0 ? noNegZero((totalReturn * HOURS_PER_YEAR) / hours) : null,
      maxDrawdown: noNegZero(maxDrawdown),
      sharpe,
      trades,
      funding: noNegZero(fundingTotal),
      fees: noNegZero(-feesTotal),
      pricePnl: noNegZero(priceTotal),
    },
    equity: equity.length === n + 1 ? equity : equity.subarray(0, n + 1),
    trades: tradeList,
    hoursInMarket,
    timeInMarket: hours > 0 ? hoursInMarket / hours : 0,
    settlementsInMarket,
  };
}

/** domain.md §0: results never carry -0. */
function noNegZero(x: number): number {
  return x === 0 ? 0 : x;
}

// ---------------------------------------------------------------- vector-shaped entry point

export type BacktestErrorKind =
  | 'invalid_events'
  | 'insufficient_data'
  | 'invalid_equity'
  | 'invalid_size'
  | 'invalid_threshold'
  | 'invalid_fee';

export type BacktestResult = BacktestMetrics | { error: BacktestErrorKind };

export interface BacktestEvent {
  ts: number;
  rate: number;
  intervalHours: number;
  perp: number;
  spot: number;
}

class InputError extends Error {
  constructor(readonly kind: BacktestErrorKind) {
    super(kind);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A number field: finite and passing `ok`; missing/null takes `fallback` when one exists. */
function num(
  obj: Record<string, unknown>,
  key: string,
  kind: BacktestErrorKind,
  ok: (v: number) => boolean,
  fallback?: number,
): number {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new InputError(kind);
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new InputError(kind);
  return v;
}

const any = (): boolean => true;

/** Validates the vector-shaped input into columns + params, or names the first bad field. */
export function parseBacktestInput(
  input: unknown,
): { series: EventColumns; params: BacktestParams } | { error: BacktestErrorKind } {
  try {
    if (!isRecord(input)) return { error: 'invalid_events' };
    const events = input.events;
    if (!Array.isArray(events)) return { error: 'invalid_events' };
    if (events.length === 0) return { error: 'insufficient_data' };
    const params: BacktestParams = {
      initialEquity: num(input, 'initialEquity', 'invalid_equity', (v) => v > 0),
      notional: num(input, 'notional', 'invalid_size', (v) => v > 0),
      minAnnRate: num(input, 'minAnnRate', 'invalid_threshold', (v) => v > 0, BACKTEST_DEFAULTS.minAnnRate),
      perpFeeRate: num(input, 'perpFeeRate', 'invalid_fee', (v) => v >= 0, BACKTEST_DEFAULTS.perpFeeRate),
      spotFeeRate: num(input, 'spotFeeRate', 'invalid_fee', (v) => v >= 0, BACKTEST_DEFAULTS.spotFeeRate),
    };
    const n = events.length;
    const series = allocColumns(n);
    for (let i = 0; i < n; i++) {
      const e: unknown = events[i];
      if (!isRecord(e)) return { error: 'invalid_events' };
      const t = num(e, 'ts', 'invalid_events', (v) => v >= 0);
      if (i > 0 && t <= (series.ts[i - 1] as number)) return { error: 'invalid_events' };
      series.ts[i] = t;
      series.rate[i] = num(e, 'rate', 'invalid_events', any);
      series.intervalHours[i] = num(e, 'intervalHours', 'invalid_events', (v) => v > 0);
      series.perp[i] = num(e, 'perp', 'invalid_events', (v) => v > 0);
      series.spot[i] = num(e, 'spot', 'invalid_events', (v) => v > 0);
    }
    return { series, params };
  } catch (e) {
    if (e instanceof InputError) return { error: e.kind };
    throw e;
  }
}

export function allocColumns(n: number): {
  ts: Float64Array;
  rate: Float64Array;
  intervalHours: Float64Array;
  perp: Float64Array;
  spot: Float64Array;
} {
  return {
    ts: new Float64Array(n),
    rate: new Float64Array(n),
    intervalHours: new Float64Array(n),
    perp: new Float64Array(n),
    spot: new Float64Array(n),
  };
}

/**
 * domain.md §9 backtest on plain event objects. Never throws on bad input: returns `{error: kind}` naming the
 * first bad field, in the order events, equity, notional, threshold, fees, then each event.
 */
export function backtestHarvester(input: unknown): BacktestResult {
  const parsed = parseBacktestInput(input);
  if ('error' in parsed) return parsed;
  return runBacktest(parsed.series, parsed.params, { recordTrades: false }).metrics;
}
