/**
 * The one interface every caller uses to reach an exchange (interfaces.md §3), in domain types:
 * numbers are numbers, timestamps are epoch ms, symbols canonical (`BTC-PERP`, spot `BTC-USD`).
 * Implementations: the Purple Flea HTTP client and the paper exchange.
 */

export type Side = 'long' | 'short';
export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';
export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'canceled' | 'rejected';

export interface Instrument {
  symbol: string;
  base: string;
  quote: string;
  tickSize: number;
  lotSize: number;
  minQuantity: number;
  maxLeverage: number;
  maintenanceMarginRate: number;
  fundingIntervalHours: number;
}

export interface FundingInfo {
  symbol: string;
  currentRate: number;
  /** null when the venue gives no prediction (show current as "est."). */
  predictedRate: number | null;
  nextFundingTs: number;
  fundingIntervalHours: number;
}

export interface Ticker {
  symbol: string;
  markPrice: number;
  indexPrice: number;
  lastPrice: number;
  ts: number;
}

export interface SpotTicker {
  symbol: string;
  lastPrice: number;
  ts: number;
}

export interface OpenInterest {
  symbol: string;
  openInterest: number;
  openInterestUsd: number;
  ts: number;
}

export interface PlaceOrderRequest {
  symbol: string;
  side: OrderSide;
  orderType: OrderType;
  quantity: number;
  price?: number;
  leverage: number;
  reduceOnly: boolean;
  timeInForce?: 'gtc' | 'ioc';
  clientOrderId: string;
}

export interface PlaceSpotOrderRequest {
  symbol: string;
  side: OrderSide;
  orderType: OrderType;
  quantity: number;
  price?: number;
  clientOrderId: string;
}

export interface Order {
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  orderType: OrderType;
  quantity: number;
  price: number | null;
  status: OrderStatus;
  filledQuantity: number;
  avgPrice: number | null;
  reduceOnly: boolean;
  /** Reason given by the exchange when status is `rejected`. */
  rejectReason?: string;
  ts: number;
}

export interface Position {
  symbol: string;
  side: Side;
  size: number;
  entryPrice: number;
  markPrice: number;
  unrealizedPnl: number;
  liquidationPrice: number | null;
  leverage: number;
  margin: number;
}

export interface Account {
  equity: number;
  availableMargin: number;
  usedMargin: number;
  currency: string;
}

export interface AccruedFunding {
  symbol: string;
  amount: number;
}

export interface ListOrdersQuery {
  clientOrderId?: string;
  status?: OrderStatus;
}

export interface Exchange {
  readonly name: string;
  instruments(): Promise<Instrument[]>;
  funding(symbol: string): Promise<FundingInfo>;
  ticker(symbol: string): Promise<Ticker>;
  spotTicker(symbol: string): Promise<SpotTicker>;
  openInterest(symbol: string): Promise<OpenInterest>;
  account(): Promise<Account>;
  positions(): Promise<Position[]>;
  accruedFunding(symbol: string): Promise<AccruedFunding>;
  placeOrder(req: PlaceOrderRequest): Promise<Order>;
  placeSpotOrder(req: PlaceSpotOrderRequest): Promise<Order>;
  listOrders(query?: ListOrdersQuery): Promise<Order[]>;
  cancelOrder(orderId: string): Promise<Order>;
  /** Spot orders (hedge legs), e.g. one by its client_order_id. */
  listSpotOrders(query?: ListOrdersQuery): Promise<Order[]>;
  /** Cancels what rests of a spot order; the answer says what filled before the cancel. */
  cancelSpotOrder(orderId: string): Promise<Order>;
  close(): Promise<void>;
}

/** Kinds of exchange failure callers may branch on. */
export type ExchangeErrorKind =
  | 'http'          // status >= 400 with the error envelope (see `code`)
  | 'timeout'
  | 'network'       // connection refused / reset
  | 'rate_limited'  // 429 after retries are exhausted
  | 'malformed'     // response failed validation
  | 'unknown_symbol'
  | 'rejected';     // the exchange refused the request (bad leverage, insufficient margin, ...)

/** Typed exchange failure. Never carries the API key. */
export class ExchangeError extends Error {
  constructor(
    readonly kind: ExchangeErrorKind,
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ExchangeError';
  }
}
