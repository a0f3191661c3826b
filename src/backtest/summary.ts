/** Labelled, display-rounded rows of a backtest run, shared by the CLI table and the chat reply. */
import type { BacktestParams, BacktestRun } from './engine.js';
import { iso } from './data.js';

export interface SummaryField {
  name: string;
  value: string;
}

const money = (x: number): string =>
  `${x < 0 ? '-' : ''}$${Math.abs(x).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const pct = (x: number | null, digits = 2): string => (x === null ? 'n/a' : `${(x * 100).toFixed(digits)} %`);

export function summaryFields(
  run: BacktestRun,
  params: BacktestParams,
  range: { first: number; last: number; settlements: number },
): SummaryField[] {
  const m = run.metrics;
  return [
    { name: 'Period', value: `${iso(range.first)} .. ${iso(range.last)} (${range.settlements} settlements)` },
    { name: 'Entry / exit', value: `APR >= ${pct(params.minAnnRate, 1)} / < ${pct(params.minAnnRate / 2, 1)}` },
    { name: 'Notional / equity', value: `${money(params.notional)} / ${money(params.initialEquity)}` },
    { name: 'Final equity', value: money(m.finalEquity) },
    { name: 'Total return', value: pct(m.totalReturn) },
    { name: 'APR', value: pct(m.apr) },
    { name: 'Max drawdown', value: pct(m.maxDrawdown) },
    { name: 'Sharpe (daily, x sqrt 365)', value: m.sharpe === null ? 'n/a' : m.sharpe.toFixed(2) },
    { name: 'Trades', value: String(m.trades) },
    { name: 'Time in market', value: `${pct(run.timeInMarket, 1)} (${run.settlementsInMarket} settlements)` },
    { name: 'Funding', value: money(m.funding) },
    { name: 'Fees', value: money(m.fees) },
    { name: 'Basis (price) PnL', value: money(m.pricePnl) },
  ];
}

export function formatTable(fields: readonly SummaryField[]): string {
  const width = Math.max(...fields.map((f) => f.name.length));
  return fields.map((f) => `${f.name.padEnd(width)}  ${f.value}`).join('\n');
}
