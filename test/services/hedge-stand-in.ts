/**
 * A Purple Flea stand-in with an order book keyed by client_order_id, as the real API behaves: a repeated
 * client_order_id returns the first order, and GET /perp/orders and /spot/orders find orders by it. Tests script
 * what a first placement answers; the harvester's plans and state live in real Redis.
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
  status: 'new' | 'partially_filled' | 'filled' | 'canceled' | 'rejected';
  filled_quantity: number;
  avg_price: number | null;
}

export type NewOrderScript = (body: Record<string, unknown>, market: 'perp' | 'spot') => StandInReply | WireOrder;

export interface BookStandIn {
  ex: ExchangeStandIn;
  book: Map<string, WireOrder>;
  /** Decides the answer to an order whose client_order_id the book does not hold yet (default: fills in full). */
  onNew: NewOrderScript;
  posts(market: 'perp' | 'spot'): Record<string, unknown>[];
}

export function filled(body: Record<string, unknown>, n: number, fill?: number): WireOrder {
  const q = Number(body.quantity);
  return {
    order_id: `o${n}`,
    client_order_id: String(body.client_order_id),
    symbol: String(body.symbol),
    side: body.side === 'sell' ? 'sell' : 'buy',
    order_type: 'market',
    quantity: q,
    status: fill === undefined || fill >= q ? 'filled' : fill === 0 ? 'new' : 'partially_filled',
    filled_quantity: fill ?? q,
    avg_price: (fill ?? q) > 0 ? 65_000 : null,
  };
}

export async function bookStandIn(): Promise<BookStandIn> {
  const ex = await startExchangeStandIn();
  const book = new Map<string, WireOrder>();
  let n = 0;
  const s: BookStandIn = {
    ex,
    book,
    onNew: (body) => filled(body, ++n),
    posts: (market) => ex.calls(`POST /${market}/orders`).map((r) => r.body as Record<string, unknown>),
  };
  const place = (market: 'perp' | 'spot') => (req: StandInRequest): StandInReply => {
    const body = req.body as Record<string, unknown>;
    const prior = book.get(String(body.client_order_id));
    if (prior) return { body: prior };
    const r = s.onNew(body, market);
    if ('order_id' in r) {
      book.set(r.client_order_id, r);
      return { body: r };
    }
    return r;
  };
  const list = (req: StandInRequest): StandInReply => {
    const cid = req.query.get('client_order_id');
    const o = cid === null ? undefined : book.get(cid);
    return { body: { orders: o ? [o] : [] } };
  };
  ex.on('POST /perp/orders', place('perp'));
  ex.on('POST /spot/orders', place('spot'));
  ex.on('GET /perp/orders', list);
  ex.on('GET /spot/orders', list);
  return s;
}

/** An approved entry plan: short 1 BTC-PERP, then buy 1 BTC-USD. */
export async function approvedEntry(redis: Redis, prefix: string, id: string, now: number): Promise<HedgePlan> {
  const plan: HedgePlan = {
    id,
    action: 'enter',
    symbol: 'BTC-PERP',
    spotSymbol: 'BTC-USD',
    perpSide: 'short',
    legs: [
      { market: 'perp', symbol: 'BTC-PERP', side: 'sell', quantity: 1, reduceOnly: false },
      { market: 'spot', symbol: 'BTC-USD', side: 'buy', quantity: 1, reduceOnly: false },
    ],
    leverage: 2,
    mark: 65_000,
    spot: 65_000,
    annRate: 1.095,
    predictedAnnRate: null,
    reason: 'test entry',
    createdAt: now,
  };
  const rec = await new HarvesterState({ redis, prefix }).createPlan(
    { plan, status: 'approved', mode: 'auto', expiresAt: now + 600_000, required: 1 },
    now,
  );
  if (!rec) throw new Error('plan not created');
  return plan;
}
