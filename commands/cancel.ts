/**
 * `/cancel <order id|all> [symbol]`: cancels resting orders (traders; it only reduces exposure, so no approval).
 * Audited, announced to the alert destinations; an order PerpDesk placed ends its approval `canceled`. Unknown ids,
 * `all` with nothing resting, an order that filled or was cancelled meanwhile: each is answered and changes nothing.
 */
import { defineCommand } from './define.js';
import { personOf } from './order.js';
import { UserError } from '../src/errors.js';
import type { Order } from '../src/exchange/port.js';
import { causeOf } from '../src/services/approvals/store.js';
import { ApprovalNotices } from '../src/services/approvals/notices.js';
import { approvalIdOf, isOpenOrder, type CancelOutcome } from '../src/services/orders/cancel.js';
import { cancelAnnouncement, orderWords, outcomeLine } from '../src/services/orders/cancel-words.js';
import { openOrders } from '../src/services/orders/resting.js';
import { utc } from '../src/format.js';
import type { CommandContext } from './context.js';

/** The venue's and PerpDesk's id alphabet (client order ids, approval ids); anything else is not an order id. */
const ORDER_ID = /^[A-Za-z0-9._:/-]{1,64}$/;

/** The order named by its venue id (as /orders shows it) or by the approval id that placed it. */
async function findOrder(ctx: CommandContext, id: string): Promise<Order | null> {
  const all = await ctx.exchange.listOrders();
  const byId = all.find((o) => o.orderId === id);
  if (byId) return byId;
  const rec = await ctx.approvals.get(id);
  if (!rec) return null;
  return all.find((o) => approvalIdOf(o.clientOrderId) === rec.id) ?? null;
}

export default defineCommand({
  name: 'cancel',
  description: 'Cancel a resting order (an id from /orders) or all of them; no approval needed',
  role: 'trader',
  sideEffect: 'order',
  slow: true,
  options: [
    { name: 'order', description: 'Order id as /orders shows it, or all', type: 'string', required: true, maxLength: 64 },
    { name: 'symbol', description: 'Only in this perpetual, e.g. BTC-PERP', type: 'string', autocomplete: 'symbol', maxLength: 40 },
  ],
  async run(ctx, args, inv) {
    const me = personOf(inv);
    const who = { ...causeOf(me), name: me.displayName };
    const symbol = args.symbol === undefined ? undefined : (await ctx.market.resolve(args.symbol)).symbol;
    const target = args.order.trim();
    let outcomes: CancelOutcome[];
    const all = target.toLowerCase() === 'all';
    if (all) {
      const resting = await openOrders(ctx.exchange, symbol);
      if (!resting.length) {
        return { title: 'Cancel', text: `No resting orders${symbol ? ` in ${symbol}` : ''}: nothing was cancelled.`, severity: 'info' };
      }
      outcomes = [];
      // One at a time: a venue that rate-limits cancels answers each, and the reply lists them in /orders' order.
      for (const o of resting) outcomes.push(await ctx.canceller.cancel(o, who));
    } else {
      if (!ORDER_ID.test(target)) {
        throw new UserError('bad_order_id', `"${target.slice(0, 30)}" is not an order id. Use an id from /orders (e.g. P00000012), or all.`);
      }
      const order = await findOrder(ctx, target);
      if (!order) throw new UserError('unknown_order', `No order ${target} at the exchange. /orders lists the resting ones; nothing was cancelled.`);
      if (symbol && order.symbol !== symbol) {
        throw new UserError('symbol_mismatch', `Order ${order.orderId} is in ${order.symbol}, not ${symbol}; nothing was cancelled.`);
      }
      if (!isOpenOrder(order)) {
        const last = await ctx.canceller.lastCancel(order.orderId);
        const by = last && order.status === 'canceled' ? ` by ${last.by} at ${utc(last.at)}` : '';
        return {
          title: 'Cancel',
          text: `${orderWords(order)} is no longer resting: it is ${order.status}${by}${order.filledQuantity > 0 ? ` (${order.filledQuantity} filled)` : ''}. Nothing was cancelled.`,
          severity: 'info',
        };
      }
      outcomes = [await ctx.canceller.cancel(order, who)];
    }
    const notices = new ApprovalNotices({ messageRefs: ctx.messageRefs, notifiers: ctx.notifiers, announcer: ctx.announcer, log: ctx.log, previewEdits: ctx.previewEdits });
    for (const r of outcomes) if (r.kind === 'canceled' && r.approval) await notices.finalized(r.approval);
    const announcement = cancelAnnouncement(me.displayName, outcomes);
    if (announcement) {
      const incident = `cancel:${outcomes.map((r) => r.order.orderId).join(',')}`.slice(0, 120);
      const report = await ctx.announcer.announce('order', announcement, incident);
      for (const f of report.failed) ctx.log.warn({ ...f.destination, error: f.error }, 'cancel announcement not delivered');
    }
    const cancelled = outcomes.filter((r) => r.kind === 'canceled').length;
    const unsure = outcomes.some((r) => r.kind === 'unknown' || r.kind === 'in_progress');
    return {
      title: !all ? 'Cancel' : `Cancel all${symbol ? ` in ${symbol}` : ''}: ${cancelled} of ${outcomes.length} cancelled`,
      text: outcomes.map(outcomeLine).join('\n'),
      severity: unsure ? 'warning' : cancelled ? 'success' : 'info',
    };
  },
});
