/**
 * `/pnl [day|week|month|all] [symbol]`: realised PnL, funding received/paid, fees and their total per symbol and
 * overall, from the desk's own ledger (src/services/ledger), with a chart of cumulative PnL and funding.
 */
import { defineCommand } from './define.js';
import { spotSymbolFor } from '../src/domain/symbols.js';
import { signedUsd } from '../src/format.js';
import { totalOf } from '../src/domain/ledger.js';
import { PERIODS, periodRange, type Period } from '../src/services/ledger/report.js';
import { feesFootnote, pnlView } from '../src/services/ledger/pnl-view.js';

const PERIOD_WORDS: Record<Period, string> = { day: 'today (UTC)', week: 'last 7 days', month: 'last 30 days', all: 'since the ledger began' };

export default defineCommand({
  name: 'pnl',
  description: 'Realised PnL, funding and fees per symbol from the desk’s ledger, with a chart',
  role: 'viewer',
  sideEffect: 'none',
  slow: true,
  options: [
    { name: 'period', description: 'day (default), week, month or all', type: 'string', choices: PERIODS },
    { name: 'symbol', description: 'Only this market (its spot hedge leg included), e.g. BTC-PERP', type: 'string', autocomplete: 'symbol', maxLength: 40 },
  ],
  async run(ctx, args) {
    const period = (args.period ?? 'day') as Period;
    const inst = args.symbol === undefined ? null : await ctx.market.resolve(args.symbol);
    const symbols = inst ? [inst.symbol, spotSymbolFor(inst.symbol)] : undefined;
    const now = ctx.now();
    const { from, to } = periodRange(period, now);
    const what = `PnL — ${PERIOD_WORDS[period]}${inst ? ` — ${inst.symbol}` : ''}`;
    const v = await pnlView({
      ledger: ctx.ledger, exchange: ctx.exchange, from, to, symbols, title: what, file: `pnl-${period}${inst ? `-${inst.symbol}` : ''}.png`,
    });
    if (!v.table) {
      return {
        title: what,
        text: `No fills of PerpDesk orders and no funding settlements ${period === 'all' ? 'yet' : 'in this period'}${inst ? ` for ${inst.symbol}` : ''}.`,
        severity: 'info',
        footer: feesFootnote(ctx.ledger),
      };
    }
    const total = totalOf(v.report.total);
    return {
      title: what,
      table: v.table,
      fields: [
        { name: 'Total', value: signedUsd(total), inline: true },
        { name: 'Funding', value: signedUsd(v.report.total.funding), inline: true },
        { name: 'Fills', value: String(v.report.total.fills), inline: true },
      ],
      text: v.notes.length ? v.notes.join('\n') : undefined,
      ...(v.image ? { image: v.image } : {}),
      severity: total >= 0 ? 'success' : 'warning',
      footer: feesFootnote(ctx.ledger),
    };
  },
});
