/** Order arrival and cancel: request checks, fill-now-or-rest, and the margin or balance an order needs before it is accepted. */
import { ExchangeError, type Order, type OrderSide, type PlaceOrderRequest } from '../port.js';
import { checkPrice, checkQuantity, checkSide, checkType, SIZE_EPS } from './checks.js';
import { account, perpMarket, spotMarket, touchPrice, type EngineContext } from './context.js';
import { rejected } from './errors.js';
import { fillOnArrival, fillModelOf } from './fill-models.js';
import { fillPerp, fillSpot, openingMargin, remainingOf } from './fills.js';
import { isOpen, publicOrder } from './order-book.js';
import type { OrderState } from './state.js';

/** The engine takes exactly the port's request. */
export type PaperOrderRequest = PlaceOrderRequest;

export interface PaperSpotOrderRequest {
  symbol: string;
  side: OrderSide;
  orderType: 'market' | 'limit';
  quantity: number;
  price?: number;
  clientOrderId: string;
}

const CLIENT_ORDER_ID = /^[A-Za-z0-9._:/-]{1,64}$/;

export function placePerpOrder(ctx: EngineContext, req: PaperOrderRequest, nowMs: number): Order {
  const prior = priorOrder(ctx, req.clientOrderId);
  if (prior) return prior;
  const { spec, m } = perpMarket(ctx, req.symbol);
  const inst = spec.perp;
  const side = checkSide(req.side);
  const type = checkType(req.orderType);
  checkQuantity(req.quantity, inst.lotSize, inst.minQuantity);
  const price = checkPrice(type, req.price, inst.tickSize);
  if (typeof req.leverage !== 'number' || !Number.isFinite(req.leverage) || req.leverage < 1) {
    throw rejected('invalid_leverage', `leverage must be a number >= 1, got ${String(req.leverage)}`);
  }
  if (req.leverage > inst.maxLeverage) {
    throw rejected('leverage_too_high', `leverage ${req.leverage} is above the maximum ${inst.maxLeverage} for ${inst.symbol}`);
  }
  if (typeof req.reduceOnly !== 'boolean') throw rejected('invalid_reduce_only', 'reduce_only must be true or false');
  const tif = req.timeInForce ?? 'gtc';
  if (tif !== 'gtc' && tif !== 'ioc') throw rejected('invalid_time_in_force', 'time_in_force must be gtc or ioc');
  const pos = ctx.state.positions[inst.symbol];
  if (req.reduceOnly) {
    const opposite = side === 'buy' ? 'short' : 'long';
    if (!pos || pos.side !== opposite) {
      throw rejected('reduce_only_rejected', `reduce-only ${side} needs an open ${opposite} position in ${inst.symbol}`);
    }
    if (req.quantity > pos.size * (1 + SIZE_EPS)) {
      throw rejected('reduce_only_rejected', `reduce-only quantity ${req.quantity} exceeds the position size ${pos.size}`);
    }
  }
  const o = newOrder(ctx, req.clientOrderId, 'perp', inst.symbol, side, type, req.quantity, price, req.reduceOnly,
    req.leverage, tif, nowMs);
  const touch = touchPrice(ctx, m.mark, inst.tickSize, side);
  const marketable = price === null || (side === 'buy' ? price >= touch : price <= touch);
  const model = fillModelOf(ctx, inst.symbol);
  if (marketable && model?.mode === 'reject') {
    rejectByModel(o);
  } else if (marketable) {
    const need = openingMargin(ctx, inst.symbol, side, o.quantity, touch, o.leverage, o.reduceOnly)
      + o.quantity * touch * ctx.fees.perpTaker;
    requireAvailable(ctx, need, 'insufficient_margin');
    const now = fillOnArrival(model, o.quantity, inst.lotSize);
    if (now > 0) fillPerp(ctx, o, touch, ctx.fees.perpTaker, nowMs, now);
    if (now < o.quantity && tif === 'ioc') {
      // Immediate-or-cancel: what did not fill on arrival is canceled, never held for later.
      o.status = 'canceled';
      o.rejectReason = 'ioc_remainder_canceled';
    } else if (now < o.quantity) {
      // The rest waits for the fill model to be lifted; its margin is held like a resting order's.
      const rest = remainingOf(o, inst.lotSize);
      o.held = true;
      o.reserved = openingMargin(ctx, inst.symbol, side, rest, touch, o.leverage, o.reduceOnly)
        + (o.reduceOnly ? 0 : rest * touch * ctx.fees.perpTaker);
    }
  } else if (tif === 'ioc') {
    o.status = 'canceled';
    o.rejectReason = 'ioc_not_marketable';
  } else {
    const reserve = openingMargin(ctx, inst.symbol, side, o.quantity, price, o.leverage, o.reduceOnly, true)
      + (o.reduceOnly ? 0 : o.quantity * price * ctx.fees.perpMaker);
    requireAvailable(ctx, reserve, 'insufficient_margin');
    // Counted into the reserved totals when the order is indexed.
    o.reserved = reserve;
  }
  ctx.book.record(o);
  return publicOrder(o);
}

export function placeSpotOrder(ctx: EngineContext, req: PaperSpotOrderRequest, nowMs: number): Order {
  const prior = priorOrder(ctx, req.clientOrderId);
  if (prior) return prior;
  const { spot, m } = spotMarket(ctx, req.symbol);
  const side = checkSide(req.side);
  const type = checkType(req.orderType);
  checkQuantity(req.quantity, spot.spec.lotSize, spot.spec.minQuantity);
  const price = checkPrice(type, req.price, spot.spec.tickSize);
  const o = newOrder(ctx, req.clientOrderId, 'spot', spot.spec.symbol, side, type, req.quantity, price, false, 1,
    'gtc', nowMs);
  const touch = touchPrice(ctx, m.index, spot.spec.tickSize, side);
  const marketable = price === null || (side === 'buy' ? price >= touch : price <= touch);
  const model = fillModelOf(ctx, spot.spec.symbol);
  if (marketable && model?.mode === 'reject') {
    rejectByModel(o);
  } else if (marketable) {
    checkSpotFunds(ctx, spot.base, side, o.quantity, touch, ctx.fees.spotTaker);
    const now = fillOnArrival(model, o.quantity, spot.spec.lotSize);
    if (now > 0) fillSpot(ctx, o, spot.base, touch, ctx.fees.spotTaker, now);
    if (now < o.quantity) {
      const rest = remainingOf(o, spot.spec.lotSize);
      o.held = true;
      if (side === 'buy') o.reserved = rest * touch * (1 + ctx.fees.spotTaker);
      else o.reservedBase = rest;
    }
  } else {
    checkSpotFunds(ctx, spot.base, side, o.quantity, price, ctx.fees.spotMaker);
    if (side === 'buy') o.reserved = o.quantity * price * (1 + ctx.fees.spotMaker);
    else o.reservedBase = o.quantity;
  }
  ctx.book.record(o);
  return publicOrder(o);
}

export function cancelOrder(ctx: EngineContext, orderId: string): Order {
  const o = typeof orderId === 'string' ? ctx.book.get(orderId) : undefined;
  if (!o) throw new ExchangeError('http', `order ${String(orderId).slice(0, 64)} not found`, 404, 'order_not_found');
  if (!isOpen(o)) throw rejected('order_not_open', `order ${o.orderId} is ${o.status} and cannot be canceled`);
  ctx.book.closeResting(o);
  return publicOrder(o);
}

/** The venue accepted the request and then refused the order (fill model `reject`): it is listed as `rejected`. */
function rejectByModel(o: OrderState): void {
  o.status = 'rejected';
  o.rejectReason = 'rejected_by_venue';
}

/** The order already placed under this client_order_id: placing is idempotent per id. */
function priorOrder(ctx: EngineContext, clientOrderId: unknown): Order | null {
  if (typeof clientOrderId !== 'string' || !CLIENT_ORDER_ID.test(clientOrderId)) {
    throw rejected('invalid_client_order_id', 'client_order_id must be 1-64 characters of A-Z a-z 0-9 . _ : / -');
  }
  const o = ctx.book.byClient(clientOrderId);
  return o ? publicOrder(o) : null;
}

function requireAvailable(ctx: EngineContext, need: number, code: string): void {
  const available = account(ctx).availableMargin;
  if (need > available + 1e-9) {
    throw rejected(code, `needs ${need.toFixed(2)} USD of margin, ${Math.max(0, available).toFixed(2)} available`);
  }
}

function checkSpotFunds(ctx: EngineContext, base: string, side: OrderSide, qty: number, price: number, feeRate: number): void {
  if (side === 'buy') {
    requireAvailable(ctx, qty * price * (1 + feeRate), 'insufficient_balance');
    return;
  }
  const free = (ctx.state.spot[base] ?? 0) - ctx.book.reservedBaseOf(base);
  if (qty > free * (1 + SIZE_EPS) + 1e-12) {
    throw rejected('insufficient_balance', `needs ${qty} ${base}, ${Math.max(0, free)} available`);
  }
}

function newOrder(
  ctx: EngineContext, clientOrderId: string, market: 'perp' | 'spot', symbol: string, side: OrderSide,
  orderType: 'market' | 'limit', quantity: number, price: number | null, reduceOnly: boolean, leverage: number,
  timeInForce: 'gtc' | 'ioc', nowMs: number,
): OrderState {
  ctx.state.seq += 1;
  return {
    orderId: `P${String(ctx.state.seq).padStart(8, '0')}`, clientOrderId, market, symbol, side, orderType, quantity,
    price, status: 'new', filledQuantity: 0, avgPrice: null, reduceOnly, leverage, timeInForce, reserved: 0,
    reservedBase: 0, fee: 0, ts: Math.trunc(nowMs),
  };
}
