/**
 * A Purple Flea stand-in with an order book keyed by client_order_id, as the real API behaves: a repeated
 * client_order_id returns the first order, GET /perp/orders and /spot/orders find orders by it, a cancel keeps what
 * already filled, and positions are what the perp orders filled. Tests script what a first placement answers
 * (fill in full, fill part and rest, rest, refuse) and when a resting remainder fills; the harvester's plans and
 * state live in real Redis.
 */
import type { Redis } from 'ioredis';
import { startExchangeStandIn, type ExchangeStandIn, type StandInReply, type StandInRequest } from '../fakes/exchange-stand-in.js';
import { HarvesterState, type HedgePlan } from '../../src/services/harvester/state.js';

export interface WireOrder {
  order_id: string;
  client_order_id: string;
  symbol: string;
  side: 'buy' | 'sell';
  order_type: 'market' | 'limit';
  quantity: number;
  price?: number | null;
  reduce_only?: boolean;
  status: 'new' | 'partially_filled' | 'filled' | 'canceled' | 'rejected';
  filled_quantity: number;
  avg_price: number | null;
}

export type Market = 'perp' | 'spot';
export type NewOrderScript = (body: Record<string, unknown>, market: Market) => StandInReply | WireOrder;
/** Answers a DELETE of a known order; a WireOrder answer replaces the order in the book. */
export type CancelScript = (order: WireOrder, market: Market) => StandInReply | WireOrder;

export interface BookStandIn {
  ex: ExchangeStandIn;
  book: Map<string, WireOrder>;
  /** Decides the answer to an order whose client_order_id the book does not hold yet (default: fills in full). */
  onNew: NewOrderScript;
  /** Decides the answer to a cancel (default: an open order is canceled keeping its fill; a closed one is refused). */
  onCancel: CancelScript;
  posts(market: Market): Record<string, unknown>[];
  /** Order ids a DELETE was sent for, in order. */
  cancels(market: Market): string[];
  /** Puts an order on the venue as if it had been placed earlier (by a run that died, or before the test). */
  put(market: Market, order: WireOrder): void;
  /** The venue fills the rest of a resting order, as a market does later when nobody cancels it. */
  fillRest(clientOrderId: string): void;
  /** Net base quantity the perp orders of `symbol` filled (+ long, − short): the venue's position. */
  position(symbol: string): number;
  /** Net base quantity the spot orders of `symbol` filled (+ bought, − sold). */
  spotHolding(symbol: string): number;
  /** Mark (perp) and last (spot) price the tickers answer. */
  price: number;
}

export const BTC_LOT = 0.001;
export const BTC_TICK = 0.1;
const OPEN = new Set(['new', 'partially_filled']);

export function filled(body: Record<string, unknown>, n: number, fill?: number): WireOrder {
  const q = Number(body.quantity);
  return {
    order_id: `o${n}`,
    client_order_id: String(body.client_order_id),
    symbol: String(body.symbol),
    side: body.side === 'sell' ? 'sell' : 'buy',
    order_type: body.order_type === 'limit' ? 'limit' : 'market',
    quantity: q,
    price: typeof body.price === 'number' ? body.price : null,
    reduce_only: body.reduce_only === true,
    status: fill === undefined || fill >= q ? 'filled' : fill === 0 ? 'new' : 'partially_filled',
    filled_quantity: fill ?? q,
    avg_price: (fill ?? q) > 0 ? 65_000 : null,
  };
}

/** Refused by the venue: nothing was placed. */
export function refusal(code: string, message: string): StandInReply {
  return { status: 400, body: { error: { code, message } } };
}

export async function bookStandIn(): Promise<BookStandIn> {
  const ex = await startExchangeStandIn();
  const book = new Map<string, WireOrder>();
  const marketOf = new Map<string, Market>();
  let n = 0;
  const signed = (o: WireOrder) => (o.side === 'buy' ? 1 : -1) * o.filled_quantity;
  const net = (market: Market, symbol: string) =>
    [...book.values()].filter((o) => marketOf.get(o.client_order_id) === market && o.symbol === symbol).reduce((a, o) => a + signed(o), 0);
  const s: BookStandIn = {
    ex,
    book,
    price: 65_000,
    onNew: (body) => filled(body, ++n),
    onCancel: (o) => (OPEN.has(o.status) ? { ...o, status: 'canceled' } : refusal('order_not_open', `order ${o.order_id} is ${o.status} and cannot be canceled`)),
    posts: (market) => ex.calls(`POST /${market}/orders`).map((r) => r.body as Record<string, unknown>),
    cancels: (market) => ex.requests.filter((r) => r.method === 'DELETE' && r.path.startsWith(`/${market}/orders/`)).map((r) => r.path.split('/').at(-1)!),
    put(market, order) {
      book.set(order.client_order_id, order);
      marketOf.set(order.client_order_id, market);
      ex.on(`DELETE /${market}/orders/${order.order_id}`, cancel(market, order.order_id));
    },
    fillRest(cid) {
      const o = book.get(cid);
      if (o && OPEN.has(o.status)) book.set(cid, { ...o, status: 'filled', filled_quantity: o.quantity, avg_price: 65_000 });
    },
    position: (symbol) => net('perp', symbol),
    spotHolding: (symbol) => net('spot', symbol),
  };
  const cancel = (market: Market, orderId: string) => (): StandInReply => {
    const o = [...book.values()].find((x) => x.order_id === orderId);
    if (!o) return { status: 404, body: { error: { code: 'order_not_found', message: `order ${orderId} not found` } } };
    const r = s.onCancel(o, market);
    if ('order_id' in r) {
      book.set(r.client_order_id, r);
      return { body: r };
    }
    return r;
  };
  const place = (market: Market) => (req: StandInRequest): StandInReply => {
    const body = req.body as Record<string, unknown>;
    const prior = book.get(String(body.client_order_id));
    if (prior) return { body: prior };
    const r = s.onNew(body, market);
    if ('order_id' in r) {
      s.put(market, r);
      return { body: r };
    }
    return r;
  };
  const list = (market: Market) => (req: StandInRequest): StandInReply => {
    const cid = req.query.get('client_order_id');
    const status = req.query.get('status');
    const orders = [...book.values()].filter(
      (o) => marketOf.get(o.client_order_id) === market && (cid === null || o.client_order_id === cid) && (status === null || o.status === status),
    );
    return { body: { orders } };
  };
  ex.on('POST /perp/orders', place('perp'));
  ex.on('POST /spot/orders', place('spot'));
  ex.on('GET /perp/orders', list('perp'));
  ex.on('GET /spot/orders', list('spot'));
  ex.on('GET /perp/instruments', () => ({
    body: {
      instruments: [{
        symbol: 'BTC-PERP', base: 'BTC', quote: 'USD', tick_size: BTC_TICK, lot_size: BTC_LOT, min_quantity: BTC_LOT,
        max_leverage: 50, maintenance_margin_rate: 0.004, funding_interval_hours: 8,
      }],
    },
  }));
  ex.on('GET /perp/ticker', (req) => ({ body: { symbol: req.query.get('symbol'), mark_price: s.price, index_price: s.price, last_price: s.price, ts: Date.now() } }));
  ex.on('GET /spot/ticker', (req) => ({ body: { symbol: req.query.get('symbol'), last_price: s.price, ts: Date.now() } }));
  ex.on('GET /perp/positions', () => {
    const symbols = new Set([...book.values()].filter((o) => marketOf.get(o.client_order_id) === 'perp').map((o) => o.symbol));
    const positions = [...symbols].flatMap((symbol) => {
      const q = net('perp', symbol);
      if (Math.abs(q) < 1e-12) return [];
      return [{
        symbol, side: q > 0 ? 'long' : 'short', size: Math.abs(q), entry_price: 65_000, mark_price: s.price, unrealized_pnl: 0,
        liquidation_price: null, leverage: 2, margin: (Math.abs(q) * 65_000) / 2,
      }];
    });
    return { body: { positions } };
  });
  return s;
}

/** An entry plan: short `quantity` BTC-PERP, then buy as much BTC-USD. */
export function entryPlan(id: string, now: number, quantity = 1): HedgePlan {
  return {
    id,
    action: 'enter',
    symbol: 'BTC-PERP',
    spotSymbol: 'BTC-USD',
    perpSide: 'short',
    legs: [
      { market: 'perp', symbol: 'BTC-PERP', side: 'sell', quantity, reduceOnly: false },
      { market: 'spot', symbol: 'BTC-USD', side: 'buy', quantity, reduceOnly: false },
    ],
    leverage: 2,
    mark: 65_000,
    spot: 65_000,
    annRate: 1.095,
    predictedAnnRate: null,
    reason: 'test entry',
    createdAt: now,
  };
}

/** An exit plan of a short-perp hedge: buy back `perp` BTC-PERP reduce-only, then sell `spot` BTC-USD. */
export function exitPlan(id: string, now: number, perp: number, spot: number): HedgePlan {
  return {
    ...entryPlan(id, now),
    action: 'exit',
    legs: [
      { market: 'perp', symbol: 'BTC-PERP', side: 'buy', quantity: perp, reduceOnly: true },
      { market: 'spot', symbol: 'BTC-USD', side: 'sell', quantity: spot, reduceOnly: false },
    ],
    reason: 'test exit',
  };
}

/** Saves `plan` as approved (auto mode), as the harvester does before executing it. */
export async function approvedPlan(redis: Redis, prefix: string, plan: HedgePlan, now: number): Promise<HedgePlan> {
  const rec = await new HarvesterState({ redis, prefix }).createPlan(
    { plan, status: 'approved', mode: 'auto', expiresAt: now + 600_000, required: 1 },
    now,
  );
  if (!rec) throw new Error('plan not created');
  return plan;
}

/** An approved entry plan: short 1 BTC-PERP, then buy 1 BTC-USD. */
export async function approvedEntry(redis: Redis, prefix: string, id: string, now: number): Promise<HedgePlan> {
  return approvedPlan(redis, prefix, entryPlan(id, now), now);
}
