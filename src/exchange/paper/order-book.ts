/** Where orders live and what they hold in reserve; the rules that move them live in orders, matching and fills. */
import type { ListOrdersQuery, Order } from '../port.js';
import type { OrderState } from './state.js';

export function isOpen(o: OrderState): boolean {
  return o.status === 'new' || o.status === 'partially_filled';
}

export function publicOrder(o: OrderState): Order {
  const order: Order = {
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    orderType: o.orderType,
    quantity: o.quantity,
    price: o.price,
    status: o.status,
    filledQuantity: o.filledQuantity,
    avgPrice: o.avgPrice,
    reduceOnly: o.reduceOnly,
    ts: o.ts,
  };
  if (o.rejectReason !== undefined) order.rejectReason = o.rejectReason;
  return order;
}

export class OrderBook {
  private readonly orders = new Map<string, OrderState>();
  private readonly byClientId = new Map<string, OrderState>();
  /** Resting orders per symbol (perp or spot). */
  private readonly resting = new Map<string, OrderState[]>();
  private reservedQuoteTotal = 0;
  private readonly reservedBase = new Map<string, number>();
  private readonly dirtyOrders = new Set<string>();
  private readonly deletedOrders = new Set<string>();

  /** `baseOf` names the base currency of a spot symbol (undefined for a perp): spot sells reserve base. */
  constructor(
    private readonly maxOrders: number,
    private readonly baseOf: (symbol: string) => string | undefined,
  ) {}

  /** Quote held by resting orders (perp margin, spot buy cost). */
  get reservedQuote(): number {
    return this.reservedQuoteTotal;
  }

  reservedBaseOf(base: string): number {
    return this.reservedBase.get(base) ?? 0;
  }

  get(orderId: string): OrderState | undefined {
    return this.orders.get(orderId);
  }

  byClient(clientOrderId: string): OrderState | undefined {
    return this.byClientId.get(clientOrderId);
  }

  all(): OrderState[] {
    return [...this.orders.values()];
  }

  list(query: ListOrdersQuery, market: 'perp' | 'spot'): Order[] {
    let list: OrderState[];
    if (query.clientOrderId !== undefined) {
      const o = this.byClientId.get(query.clientOrderId);
      list = o ? [o] : [];
    } else {
      list = [...this.orders.values()];
    }
    return list
      .filter((o) => o.market === market && (query.status === undefined || o.status === query.status))
      .map(publicOrder);
  }

  index(o: OrderState): void {
    this.orders.set(o.orderId, o);
    this.byClientId.set(o.clientOrderId, o);
    if (isOpen(o)) {
      this.restingList(o.symbol).push(o);
      this.reservedQuoteTotal += o.reserved;
      if (o.reservedBase > 0) {
        const base = this.baseOf(o.symbol);
        if (base) this.reservedBase.set(base, (this.reservedBase.get(base) ?? 0) + o.reservedBase);
      }
    }
  }

  record(o: OrderState): void {
    this.index(o);
    this.dirtyOrders.add(o.orderId);
    if (this.orders.size > this.maxOrders) this.forgetOldOrders();
  }

  markDirty(orderId: string): void {
    this.dirtyOrders.add(orderId);
  }

  /** The resting orders of a symbol, if any were ever indexed for it. */
  restingOn(symbol: string): OrderState[] | undefined {
    return this.resting.get(symbol);
  }

  restingList(symbol: string): OrderState[] {
    let list = this.resting.get(symbol);
    if (!list) {
      list = [];
      this.resting.set(symbol, list);
    }
    return list;
  }

  unrest(o: OrderState): void {
    const list = this.resting.get(o.symbol);
    if (!list) return;
    const i = list.indexOf(o);
    if (i >= 0) list.splice(i, 1);
  }

  release(o: OrderState, base: string | null): void {
    this.reservedQuoteTotal -= o.reserved;
    if (this.reservedQuoteTotal < 1e-9) this.reservedQuoteTotal = 0;
    o.reserved = 0;
    if (base && o.reservedBase > 0) {
      const left = (this.reservedBase.get(base) ?? 0) - o.reservedBase;
      if (left > 1e-12) this.reservedBase.set(base, left);
      else this.reservedBase.delete(base);
    }
    o.reservedBase = 0;
  }

  closeResting(o: OrderState, reason?: string): void {
    this.release(o, this.baseOf(o.symbol) ?? null);
    o.status = 'canceled';
    if (reason !== undefined) o.rejectReason = reason;
    this.unrest(o);
    this.dirtyOrders.add(o.orderId);
  }

  /** Orders changed or forgotten since the last call (for incremental persistence). */
  takeChanges(): { upserts: OrderState[]; deletes: string[] } {
    const upserts: OrderState[] = [];
    for (const id of this.dirtyOrders) {
      const o = this.orders.get(id);
      if (o) upserts.push(o);
    }
    const deletes = [...this.deletedOrders];
    this.dirtyOrders.clear();
    this.deletedOrders.clear();
    return { upserts, deletes };
  }

  /** Forgets every order (each becomes a delete for persistence) and every reserve. */
  clear(): void {
    for (const id of this.orders.keys()) {
      this.deletedOrders.add(id);
      this.dirtyOrders.delete(id);
    }
    this.orders.clear();
    this.byClientId.clear();
    this.resting.clear();
    this.reservedQuoteTotal = 0;
    this.reservedBase.clear();
  }

  /** Drops the oldest closed orders down to 90 % of the cap, so trimming is not paid on every order. */
  private forgetOldOrders(): void {
    const target = Math.floor(this.maxOrders * 0.9);
    for (const [id, o] of this.orders) {
      if (this.orders.size <= target) break;
      if (isOpen(o)) continue;
      this.orders.delete(id);
      if (this.byClientId.get(o.clientOrderId) === o) this.byClientId.delete(o.clientOrderId);
      this.dirtyOrders.delete(id);
      this.deletedOrders.add(id);
    }
  }
}
