/** What the golden file pins: the engine's result on a fixed slice of the shipped BTC history (see README.md). */
import { loadHistory } from '../../../src/backtest/data.js';
import { runBacktest, type BacktestParams } from '../../../src/backtest/engine.js';

export const GOLDEN_FILE = new URL('./harvester-btc-2021h2.json', import.meta.url);

export const GOLDEN_REQUEST = { symbol: 'BTC', from: '2021-07-01', to: '2022-01-01' } as const;
export const GOLDEN_PARAMS: BacktestParams = {
  initialEquity: 10_000,
  notional: 10_000,
  minAnnRate: 0.3,
  perpFeeRate: 0.0005,
  spotFeeRate: 0.001,
};

export async function computeGolden(): Promise<Record<string, unknown>> {
  const history = await loadHistory(GOLDEN_REQUEST);
  const run = runBacktest(history.series, GOLDEN_PARAMS);
  const eq = Array.from(run.equity);
  const sampleAt = [0, 1, 100, 250, 500, eq.length - 1];
  return {
    request: GOLDEN_REQUEST,
    params: GOLDEN_PARAMS,
    settlements: history.series.ts.length,
    first: new Date(history.first).toISOString(),
    last: new Date(history.last).toISOString(),
    stalePrices: history.stalePrices,
    metrics: run.metrics,
    hoursInMarket: run.hoursInMarket,
    settlementsInMarket: run.settlementsInMarket,
    equity: {
      sum: eq.reduce((a, x) => a + x, 0),
      min: Math.min(...eq),
      max: Math.max(...eq),
      samples: Object.fromEntries(sampleAt.map((i) => [String(i), eq[i]])),
    },
    trades: run.trades.map((t) => ({
      entry: new Date(t.entryTs).toISOString(),
      exit: new Date(t.exitTs).toISOString(),
      settlements: t.settlements,
      funding: t.funding,
      fees: t.fees,
      pricePnl: t.pricePnl,
    })),
  };
}
