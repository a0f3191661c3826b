/** How a cancel's outcome reads to people: the reply line, and the announcement to the alert destinations. */
import type { Reply } from '../../chat/reply.js';
import type { Order } from '../../exchange/port.js';
import { clipLines, price as fmtPrice, utc } from '../../format.js';
import type { CancelOutcome } from './cancel.js';

export function orderWords(o: Pick<Order, 'orderId' | 'symbol' | 'side' | 'orderType' | 'quantity' | 'price'>): string {
  return `${o.orderId} (${o.symbol} ${o.side} ${o.quantity} ${o.orderType === 'limit' && o.price !== null ? `limit ${fmtPrice(o.price)}` : 'market'})`;
}

function filledWords(o: Pick<Order, 'filledQuantity' | 'quantity' | 'avgPrice'>): string {
  if (!(o.filledQuantity > 0)) return 'nothing had filled';
  return `${o.filledQuantity} of ${o.quantity} had filled${o.avgPrice === null ? '' : ` at ${fmtPrice(o.avgPrice)}`} before the cancel; that part stays`;
}

/** One line per outcome: what happened to the order, and that nothing else was done where nothing was. */
export function outcomeLine(r: CancelOutcome): string {
  switch (r.kind) {
    case 'canceled':
      return `✅ Cancelled ${orderWords(r.order)}: ${filledWords(r.order)}.`;
    case 'canceled_by_other':
      return `ℹ️ ${orderWords(r.order)} was already cancelled by ${r.by} at ${utc(r.at)}${r.filledQuantity > 0 ? ` (${r.filledQuantity} had filled)` : ''}; nothing more was done.`;
    case 'in_progress':
      return `⏳ ${orderWords(r.order)} is being cancelled by ${r.by} (since ${utc(r.at)}); no second cancel was sent. /orders shows when it is gone.`;
    case 'not_open':
      return `ℹ️ ${orderWords(r.order)} is no longer resting: it is ${r.order.status}${r.order.filledQuantity > 0 ? `, ${r.order.filledQuantity} filled` : ''}. Nothing was cancelled.`;
    case 'unknown':
      return `⚠️ No answer from the exchange to the cancel of ${orderWords(r.order)} (${r.error}); it may or may not be cancelled. /orders shows where it stands.`;
  }
}

/** The "order" announcement for the orders this person cancelled (null when none was). */
export function cancelAnnouncement(who: string, outcomes: readonly CancelOutcome[]): Reply | null {
  const done = outcomes.filter((r): r is Extract<CancelOutcome, { kind: 'canceled' }> => r.kind === 'canceled');
  if (!done.length) return null;
  const symbols = [...new Set(done.map((r) => r.order.symbol))].join(', ');
  const lines = done.map((r) => {
    const o = r.order;
    const placed = r.approval ? `requested by ${r.approval.requester.displayName}, approval ${r.approval.id}` : 'placed outside PerpDesk or by a desk job';
    return `• ${orderWords(o)}, ${placed}: ${filledWords(o)}.`;
  });
  return {
    title: done.length === 1 ? `Order cancelled: ${symbols}` : `${done.length} orders cancelled: ${symbols}`,
    // An alert holds 3,000 characters; /audit keeps every cancel.
    text: `🛑 ${who} cancelled ${done.length === 1 ? 'a resting order' : `${done.length} resting orders`}:\n${clipLines(lines, 2_700, (n) => `… and ${n} more (/audit lists each)`)}`,
    severity: 'warning',
  };
}
