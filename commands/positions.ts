import { defineCommand } from './define.js';
import { liqBuffer } from '../src/domain/liquidation.js';
import { isDomainError } from '../src/domain/result.js';
import { pct, price, qty, signedUsd } from '../src/format.js';

export default defineCommand({
  name: 'positions',
  description: 'Every open position with PnL, liquidation price and buffer, and accrued funding',
  role: 'viewer',
  sideEffect: 'none',
  options: [],
  slow: true,
  async run(ctx) {
    const [positions, instruments] = await Promise.all([ctx.exchange.positions(), ctx.market.instruments()]);
    if (positions.length === 0) return { title: 'Positions', text: 'No open positions.', severity: 'info' };
    const accrued = await Promise.all(positions.map((p) => ctx.exchange.accruedFunding(p.symbol)));
    let warn = false;
    const rows = positions.map((p, i) => {
      const inst = instruments.find((x) => x.symbol === p.symbol);
      const b = liqBuffer({ side: p.side, mark: p.markPrice, liqPrice: p.liquidationPrice });
      const buf = isDomainError(b) || b.buffer === null ? '—' : pct(b.buffer, 1);
      if (!isDomainError(b) && !b.ok) warn = true;
      return [
        p.symbol,
        p.side,
        qty(p.size, inst?.lotSize),
        price(p.entryPrice, inst?.tickSize),
        price(p.markPrice, inst?.tickSize),
        signedUsd(p.unrealizedPnl),
        p.liquidationPrice === null ? '—' : price(p.liquidationPrice, inst?.tickSize),
        buf,
        signedUsd(accrued[i]!.amount),
      ];
    });
    return {
      title: 'Positions',
      table: {
        headers: ['Symbol', 'Side', 'Size', 'Entry', 'Mark', 'uPnL', 'Liq.', 'Buffer', 'Funding'],
        rows,
        align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      },
      text: warn ? '⚠ A position is within 10% of its liquidation price.' : undefined,
      severity: warn ? 'critical' : 'info',
      footer: 'Buffer = distance from mark to liquidation; Funding = accrued (+ received, − paid)',
    };
  },
});
