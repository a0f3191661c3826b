/**
 * `/orders [symbol]`: the resting orders at the venue — PerpDesk's own with who asked and the approval, the
 * harvester's and flatten's legs, and orders placed outside PerpDesk, marked as such.
 */
import { defineCommand } from './define.js';
import { age, pct, price, qty } from '../src/format.js';
import { originRef, originWords, restingOrders } from '../src/services/orders/resting.js';

/** A chat message holds this many rows comfortably; the rest are counted. */
const MAX_ROWS = 25;

export default defineCommand({
  name: 'orders',
  description: 'Resting orders: side, type, quantity, filled, price, distance to mark, age, who requested them',
  role: 'viewer',
  sideEffect: 'none',
  slow: true,
  options: [{ name: 'symbol', description: 'Only this perpetual, e.g. BTC-PERP', type: 'string', autocomplete: 'symbol', maxLength: 40 }],
  async run(ctx, args) {
    const symbol = args.symbol === undefined ? undefined : (await ctx.market.resolve(args.symbol)).symbol;
    const [resting, instruments] = await Promise.all([
      restingOrders({ exchange: ctx.exchange, approvals: ctx.approvals, flattenRequester: async (id) => (await ctx.flattens.get(id))?.requester.displayName ?? null }, symbol),
      ctx.market.instruments(),
    ]);
    const where = symbol ? ` in ${symbol}` : '';
    if (!resting.length) return { title: 'Resting orders', text: `No resting orders${where}.`, severity: 'info' };
    const symbols = [...new Set(resting.map((r) => r.order.symbol))];
    const marks = new Map(await Promise.all(symbols.map(async (s) => [s, await ctx.exchange.ticker(s).then((t) => t.markPrice, () => null)] as const)));
    const now = ctx.now();
    const shown = resting.slice(0, MAX_ROWS);
    const rows = shown.map(({ order: o, origin }) => {
      const inst = instruments.find((i) => i.symbol === o.symbol);
      const mark = marks.get(o.symbol) ?? null;
      // How far the market must move for a limit to fill: + above mark, − below.
      const distance = o.price !== null && mark ? `${o.price >= mark ? '+' : '−'}${pct(Math.abs(o.price / mark - 1))}` : '—';
      return [
        o.orderId,
        o.symbol,
        `${o.side}${o.reduceOnly ? ' (reduce-only)' : ''}`,
        o.orderType,
        qty(o.quantity, inst?.lotSize),
        qty(o.filledQuantity, inst?.lotSize),
        o.price === null ? 'market' : price(o.price, inst?.tickSize),
        distance,
        age(now - o.ts),
        originWords(origin),
        originRef(origin),
      ];
    });
    const outside = resting.filter((r) => r.origin.kind === 'outside').length;
    const notes = [
      resting.length > shown.length ? `${resting.length - shown.length} more not shown; /orders <symbol> narrows the list.` : '',
      outside ? `${outside} placed outside PerpDesk (no approval).` : '',
      '/cancel <order> or /cancel all [symbol] cancels (traders).',
    ].filter(Boolean);
    return {
      title: `Resting orders${where}: ${resting.length}`,
      table: {
        headers: ['Order', 'Symbol', 'Side', 'Type', 'Qty', 'Filled', 'Price', 'To mark', 'Age', 'Requested by', 'Approval'],
        rows,
        align: ['left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left', 'left'],
      },
      text: notes.join('\n'),
      severity: 'info',
      footer: 'To mark = how far the limit is from the mark price (+ above, − below)',
    };
  },
});
