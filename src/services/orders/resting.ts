/**
 * The resting (open) perp orders at the venue, each with who asked for it: an `/order` or `/close` approval
 * (`pd-<approvalId>`), a harvester leg (`hv-…`), a flatten leg (`fl-…`), or placed outside PerpDesk (any other client
 * order id: the venue's web UI, another bot). Read-only.
 */
import type { Exchange, Order } from '../../exchange/port.js';
import type { ApprovalStore } from '../approvals/store.js';
import { approvalIdOf } from './cancel.js';

export type OrderOrigin =
  | { kind: 'order'; approvalId: string; requester: string | null }
  | { kind: 'harvester'; planId: string }
  | { kind: 'flatten'; flattenId: string; requester: string | null }
  | { kind: 'outside' };

export interface RestingOrder {
  order: Order;
  origin: OrderOrigin;
}

/** Who a flatten was requested by, for flatten legs that rest (a limit during a cascade). */
export type FlattenRequester = (flattenId: string) => Promise<string | null>;

export function flattenIdOf(clientOrderId: string): string | null {
  const m = /^fl-([a-z0-9]+)-\d+$/.exec(clientOrderId);
  return m ? m[1]! : null;
}

function harvesterPlanOf(clientOrderId: string): string | null {
  const m = /^hv-([a-z0-9]+)-\d+u?$/.exec(clientOrderId);
  return m ? m[1]! : null;
}

/** Where an order came from, by its client order id. */
export async function originOf(o: Pick<Order, 'clientOrderId'>, approvals: ApprovalStore, flattenRequester?: FlattenRequester): Promise<OrderOrigin> {
  const approvalId = approvalIdOf(o.clientOrderId);
  if (approvalId) {
    const rec = await approvals.get(approvalId);
    return { kind: 'order', approvalId, requester: rec?.requester.displayName ?? null };
  }
  const planId = harvesterPlanOf(o.clientOrderId);
  if (planId) return { kind: 'harvester', planId };
  const flattenId = flattenIdOf(o.clientOrderId);
  if (flattenId) return { kind: 'flatten', flattenId, requester: (await flattenRequester?.(flattenId)) ?? null };
  return { kind: 'outside' };
}

/** Every open perp order (new or partly filled), oldest first, optionally in one symbol. */
export async function openOrders(exchange: Exchange, symbol?: string): Promise<Order[]> {
  const [fresh, partial] = await Promise.all([exchange.listOrders({ status: 'new' }), exchange.listOrders({ status: 'partially_filled' })]);
  const seen = new Set<string>();
  const out: Order[] = [];
  for (const o of [...fresh, ...partial]) {
    if (seen.has(o.orderId) || (symbol !== undefined && o.symbol !== symbol)) continue;
    // A venue that ignores the status filter still only gives open orders here.
    if (o.status !== 'new' && o.status !== 'partially_filled') continue;
    seen.add(o.orderId);
    out.push(o);
  }
  return out.sort((a, b) => a.ts - b.ts || a.orderId.localeCompare(b.orderId));
}

export async function restingOrders(d: { exchange: Exchange; approvals: ApprovalStore; flattenRequester?: FlattenRequester }, symbol?: string): Promise<RestingOrder[]> {
  const orders = await openOrders(d.exchange, symbol);
  return Promise.all(orders.map(async (order) => ({ order, origin: await originOf(order, d.approvals, d.flattenRequester) })));
}

/** How the origin reads in a table: the requester's name, "harvester", "outside PerpDesk". */
export function originWords(o: OrderOrigin): string {
  switch (o.kind) {
    case 'order':
      return o.requester ?? 'PerpDesk (record gone)';
    case 'harvester':
      return 'harvester';
    case 'flatten':
      return `flatten${o.requester ? ` (${o.requester})` : ''}`;
    case 'outside':
      return 'outside PerpDesk';
  }
}

/** The approval id column: the approval, plan or flatten that placed it; "—" for outside orders. */
export function originRef(o: OrderOrigin): string {
  switch (o.kind) {
    case 'order':
      return o.approvalId;
    case 'harvester':
      return o.planId;
    case 'flatten':
      return o.flattenId;
    case 'outside':
      return '—';
  }
}
