import { defineCommand } from './define.js';
import { liqBuffer } from '../src/domain/liquidation.js';
import { annualize } from '../src/domain/funding.js';
import { fundingAgainstClose } from '../src/domain/harvester.js';
import { isDomainError, unwrap } from '../src/domain/result.js';
import { aboveLeverageCap, accountLeverage, grossNotional } from '../src/domain/exposure.js';
import { multiple, pct, price, usd } from '../src/format.js';

export default defineCommand({
  name: 'risk',
  description: 'Account leverage, margin, every position’s liquidation buffer, and warnings',
  role: 'viewer',
  sideEffect: 'none',
  options: [],
  slow: true,
  async run(ctx) {
    const [account, positions, pause] = await Promise.all([ctx.exchange.account(), ctx.exchange.positions(), ctx.killSwitch.state()]);
    const fundings = await Promise.all(positions.map((p) => ctx.exchange.funding(p.symbol)));
    const notional = grossNotional(positions);
    const leverage = accountLeverage(notional, account.equity);
    const cap = multiple(ctx.config.MAX_LEVERAGE);
    const warnings: string[] = [];
    if (aboveLeverageCap(leverage, ctx.config.MAX_LEVERAGE)) {
      warnings.push(`Account leverage ${multiple(leverage, 2)} is above the ${cap} cap: /order refuses anything that adds exposure; reduce positions (/close) or add margin.`);
    }
    const rows = positions.map((p, i) => {
      const b = liqBuffer({ side: p.side, mark: p.markPrice, liqPrice: p.liquidationPrice });
      const f = fundings[i]!;
      const apr = unwrap(annualize({ rate: f.currentRate, intervalHours: f.fundingIntervalHours }));
      if (!isDomainError(b) && b.buffer !== null && !b.ok) {
        warnings.push(`${p.symbol} ${p.side}: liquidation buffer ${pct(b.buffer, 1)} is below 10% (mark ${price(p.markPrice)}, liq ${price(p.liquidationPrice ?? 0)}).`);
      }
      if (fundingAgainstClose({ side: p.side, annRate: apr }) === true) {
        warnings.push(`${p.symbol} ${p.side}: funding works against the position at ${pct(apr)} APR (limit 100%).`);
      }
      const buf = isDomainError(b) || b.buffer === null ? '—' : pct(b.buffer, 1);
      return [p.symbol, p.side, usd(Math.abs(p.size) * p.markPrice), multiple(p.leverage), buf, `${pct(apr)} APR`];
    });
    if (pause) warnings.push(`Trading is paused by ${pause.by}: ${pause.reason}`);
    return {
      title: 'Risk',
      fields: [
        { name: 'Equity', value: usd(account.equity), inline: true },
        { name: 'Used margin', value: usd(account.usedMargin), inline: true },
        { name: 'Available margin', value: usd(account.availableMargin), inline: true },
        { name: 'Account leverage', value: Number.isFinite(leverage) ? `${multiple(leverage, 2)} (cap ${cap})` : 'n/a (no equity)', inline: true },
        { name: 'Gross notional', value: usd(notional), inline: true },
      ],
      table: rows.length ? { headers: ['Symbol', 'Side', 'Notional', 'Lev.', 'Liq. buffer', 'Funding'], rows, align: ['left', 'left', 'right', 'right', 'right', 'right'] } : undefined,
      text: warnings.length ? warnings.map((w) => `⚠ ${w}`).join('\n') : 'No warnings.',
      severity: warnings.length ? 'warning' : 'success',
    };
  },
});
