/**
 * Domain types -> the snake_case bodies of interfaces.md §3. The inverse of schemas.ts; used by the paper server
 * and by test stand-ins so both speak exactly what the client parses.
 */
import type {
  Account, AccruedFunding, FundingInfo, Instrument, OpenInterest, Order, Position, SpotTicker, Ticker,
} from './port.js';

export function instrumentsBody(list: Instrument[]): object {
  return {
    instruments: list.map((i) => ({
      symbol: i.symbol,
      base: i.base,
      quote: i.quote,
      tick_size: i.tickSize,
      lot_size: i.lotSize,
      min_quantity: i.minQuantity,
      max_leverage: i.maxLeverage,
      maintenance_margin_rate: i.maintenanceMarginRate,
      funding_interval_hours: i.fundingIntervalHours,
    })),
  };
}

export function fundingBody(f: FundingInfo): object {
  return {
    symbol: f.symbol,
    current_rate: f.currentRate,
    predicted_rate: f.predictedRate,
    next_funding_ts: f.nextFundingTs,
    funding_interval_hours: f.fundingIntervalHours,
  };
}

export function tickerBody(t: Ticker): object {
  return { symbol: t.symbol, mark_price: t.markPrice, index_price: t.indexPrice, last_price: t.lastPrice, ts: t.ts };
}

export function spotTickerBody(t: SpotTicker): object {
  return { symbol: t.symbol, last_price: t.lastPrice, ts: t.ts };
}

export function openInterestBody(o: OpenInterest): object {
  return { symbol: o.symbol, open_interest: o.openInterest, open_interest_usd: o.openInterestUsd, ts: o.ts };
}

export function orderBody(o: Order): Record<string, unknown> {
  const body: Record<string, unknown> = {
    order_id: o.orderId,
    client_order_id: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    order_type: o.orderType,
    quantity: o.quantity,
    price: o.price,
    status: o.status,
    filled_quantity: o.filledQuantity,
    avg_price: o.avgPrice,
    reduce_only: o.reduceOnly,
    ts: o.ts,
  };
  if (o.rejectReason !== undefined) body.reject_reason = o.rejectReason;
  return body;
}

export function ordersBody(list: Order[]): object {
  return { orders: list.map(orderBody) };
}

export function positionsBody(list: Position[]): object {
  return {
    positions: list.map((p) => ({
      symbol: p.symbol,
      side: p.side,
      size: p.size,
      entry_price: p.entryPrice,
      mark_price: p.markPrice,
      unrealized_pnl: p.unrealizedPnl,
      liquidation_price: p.liquidationPrice,
      leverage: p.leverage,
      margin: p.margin,
    })),
  };
}

export function accruedFundingBody(a: AccruedFunding): object {
  return { symbol: a.symbol, amount: a.amount };
}

export function accountBody(a: Account): object {
  return {
    equity: a.equity,
    available_margin: a.availableMargin,
    used_margin: a.usedMargin,
    currency: a.currency,
  };
}

export function errorBody(code: string, message: string): object {
  return { error: { code, message } };
}
