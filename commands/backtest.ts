import { defineCommand } from './define.js';
import { UserError } from '../src/errors.js';

const PERIOD = /^(\d+)\s*(d|w|m|y)?$/i;
const DAYS_PER: Record<string, number> = { d: 1, w: 7, m: 30, y: 365 };

/** `365d`, `12m`, `1y`, `90` (days), from 1 day to `maxDays`. */
export function parsePeriodDays(text: string, maxDays: number): number {
  const m = PERIOD.exec(text.trim());
  if (!m) throw new UserError('bad_period', `period must look like 365d, 26w, 12m or 1y; got "${text.slice(0, 20)}".`);
  const days = Number(m[1]) * DAYS_PER[(m[2] ?? 'd').toLowerCase()]!;
  if (!(days >= 1 && days <= maxDays)) {
    throw new UserError('bad_period', `period must be from 1 day to ${maxDays} days (${Math.floor(maxDays / 365)}y); got "${text.slice(0, 20)}".`);
  }
  return days;
}

export default defineCommand({
  name: 'backtest',
  description: 'Backtest the funding harvester on real history: table and equity-curve chart',
  role: 'viewer',
  sideEffect: 'none',
  slow: true,
  options: [
    { name: 'symbol', description: 'Market with shipped history, e.g. BTC-PERP', type: 'string', required: true, maxLength: 20 },
    { name: 'period', description: 'Length ending at the last shipped data point: 365d, 12m, 1y (default 365d)', type: 'string', maxLength: 10 },
    { name: 'min_apr', description: 'Entry threshold, annualised percent (default 50)', type: 'number', min: 0.01, max: 10_000 },
    { name: 'notional', description: 'Position notional in USD (default 10000)', type: 'number', min: 1, max: 1e9 },
  ],
  async run(_ctx, args) {
    // Loaded on first use: the engine, CSV parser and chart stack are not needed by a bot that never backtests.
    const [{ backtestForChat, CHAT_MAX_DAYS }, { shippedSymbols, normaliseSymbol }] = await Promise.all([import('../src/backtest/report.js'), import('../src/backtest/data.js')]);
    const days = parsePeriodDays(args.period ?? '365d', CHAT_MAX_DAYS);
    const base = normaliseSymbol(args.symbol);
    // The library's own message points at CLI flags (--funding/--prices) a chat user cannot pass.
    if (!shippedSymbols().includes(base)) {
      throw new UserError('no_history', `No shipped funding history for ${args.symbol.slice(0, 20)}. Backtests run on: ${shippedSymbols().map((s) => `${s}-PERP`).join(', ')}.`);
    }
    const r = await backtestForChat({
      symbol: base,
      days,
      minApr: args.min_apr === undefined ? undefined : args.min_apr / 100,
      notional: args.notional,
    });
    const file = `backtest-${base}-${days}d.png`;
    return {
      title: `Backtest: ${r.title}`,
      fields: r.fields.map((f) => ({ name: f.name, value: f.value, inline: true })),
      text: r.notes.length ? r.notes.map((n) => `Note: ${n}`).join('\n') : undefined,
      image: { filename: file, data: r.png, alt: `Equity curve of ${r.title}` },
      severity: r.metrics.totalReturn >= 0 ? 'success' : 'warning',
      footer: 'Past funding is no guarantee of future funding. Fees: taker on both legs, open and close.',
    };
  },
});
