/**
 * zod schemas of the Purple Flea REST bodies (interfaces.md §3), parsed once at the edge into the domain types of
 * port.ts: numbers arrive as JSON numbers or decimal strings, timestamps as epoch ms, epoch s or ISO-8601, and
 * symbols in any case. Anything else is `ExchangeError('malformed')`.
 */
import { z } from 'zod';
import { ExchangeError } from './port.js';
import type {
  Account, AccruedFunding, FundingInfo, Instrument, OpenInterest, Order, OrderSide, OrderType, Position, SpotTicker,
  Ticker,
} from './port.js';

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite number, from a JSON number or a decimal string. */
export const Num = z.union([
  z.number().finite(),
  z.string().trim().regex(DECIMAL).transform(Number).pipe(z.number().finite()),
]);

/** Epoch seconds stay below 1e11 until the year 5138, epoch ms passed it in 1973: the size tells them apart. */
const SECONDS_LIMIT = 1e11;

function epochToMs(n: number): number {
  return Math.abs(n) < SECONDS_LIMIT ? Math.round(n * 1000) : Math.round(n);
}

/** Epoch ms from epoch ms, epoch s (number or decimal string) or an ISO-8601 string. */
export const Timestamp = z.union([
  z.number().finite().transform(epochToMs),
  z.string().trim().regex(DECIMAL).transform((s) => epochToMs(Number(s))).pipe(z.number().finite()),
  z.string().trim().regex(/^\d{4}-\d{2}-\d{2}T/).transform((s, ctx) => {
    const ms = Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'invalid ISO-8601 timestamp' });
      return z.NEVER;
    }
    return ms;
  }),
]);

export const SymbolName = z.string().trim().min(1).transform((s) => s.toUpperCase());

const nullableNum = Num.nullable();

export const InstrumentsBody = z.object({
  instruments: z.array(z.object({
    symbol: SymbolName,
    base: z.string(),
    quote: z.string(),
    tick_size: Num,
    lot_size: Num,
    min_quantity: Num,
    max_leverage: Num,
    maintenance_margin_rate: Num,
    funding_interval_hours: Num,
  })),
}).transform((b): Instrument[] => b.instruments.map((i) => ({
  symbol: i.symbol,
  base: i.base,
  quote: i.quote,
  tickSize: i.tick_size,
  lotSize: i.lot_size,
  minQuantity: i.min_quantity,
  maxLeverage: i.max_leverage,
  maintenanceMarginRate: i.maintenance_margin_rate,
  fundingIntervalHours: i.funding_interval_hours,
})));

export const FundingBody = z.object({
  symbol: SymbolName,
  current_rate: Num,
  predicted_rate: nullableNum.optional(),
  next_funding_ts: Timestamp,
  funding_interval_hours: Num,
}).transform((b): FundingInfo => ({
  symbol: b.symbol,
  currentRate: b.current_rate,
  predictedRate: b.predicted_rate ?? null,
  nextFundingTs: b.next_funding_ts,
  fundingIntervalHours: b.funding_interval_hours,
}));

export const TickerBody = z.object({
  symbol: SymbolName,
  mark_price: Num,
  index_price: Num,
  last_price: Num,
  ts: Timestamp,
}).transform((b): Ticker => ({
  symbol: b.symbol, markPrice: b.mark_price, indexPrice: b.index_price, lastPrice: b.last_price, ts: b.ts,
}));

export const SpotTickerBody = z.object({
  symbol: SymbolName,
  last_price: Num,
  ts: Timestamp,
}).transform((b): SpotTicker => ({ symbol: b.symbol, lastPrice: b.last_price, ts: b.ts }));

export const OpenInterestBody = z.object({
  symbol: SymbolName,
  open_interest: Num,
  open_interest_usd: Num,
  ts: Timestamp,
}).transform((b): OpenInterest => ({
  symbol: b.symbol, openInterest: b.open_interest, openInterestUsd: b.open_interest_usd, ts: b.ts,
}));

const OrderStatusSchema = z.enum(['new', 'partially_filled', 'filled', 'canceled', 'rejected']);
const OrderSideSchema = z.enum(['buy', 'sell']);
const OrderTypeSchema = z.enum(['market', 'limit']);

/**
 * The wire order. §3 promises only the first five fields; the rest are optional so a terse venue still parses,
 * and `toOrder` fills them from the request that placed the order (a listing without them is malformed: there is
 * nothing truthful to fill in).
 */
export const WireOrder = z.object({
  order_id: z.union([z.string().min(1), z.number().int().transform(String)]),
  client_order_id: z.string().min(1),
  status: OrderStatusSchema,
  filled_quantity: Num,
  avg_price: nullableNum.optional(),
  symbol: SymbolName.optional(),
  side: OrderSideSchema.optional(),
  order_type: OrderTypeSchema.optional(),
  quantity: Num.optional(),
  price: nullableNum.optional(),
  reduce_only: z.boolean().optional(),
  reject_reason: z.string().optional(),
  ts: Timestamp.optional(),
});
export type WireOrder = z.infer<typeof WireOrder>;

export interface OrderDefaults {
  symbol: string;
  side: OrderSide;
  orderType: OrderType;
  quantity: number;
  price: number | null;
  reduceOnly: boolean;
  ts: number;
}

export function toOrder(w: WireOrder, d: OrderDefaults): Order {
  const order: Order = {
    orderId: w.order_id,
    clientOrderId: w.client_order_id,
    symbol: w.symbol ?? d.symbol,
    side: w.side ?? d.side,
    orderType: w.order_type ?? d.orderType,
    quantity: w.quantity ?? d.quantity,
    price: w.price === undefined ? d.price : w.price,
    status: w.status,
    filledQuantity: w.filled_quantity,
    // A zero average on an unfilled order means "no fills", not a price.
    avgPrice: w.avg_price === undefined || w.avg_price === null || (w.avg_price === 0 && w.filled_quantity === 0)
      ? null : w.avg_price,
    reduceOnly: w.reduce_only ?? d.reduceOnly,
    ts: w.ts ?? d.ts,
  };
  if (w.reject_reason !== undefined) order.rejectReason = w.reject_reason;
  return order;
}

/** An order in a listing must describe itself fully. */
export const FullWireOrder = WireOrder.refine(
  (o) => o.symbol !== undefined && o.side !== undefined && o.order_type !== undefined && o.quantity !== undefined,
  { message: 'order lacks symbol, side, order_type or quantity' },
).transform((o): Order => toOrder(o, {
  symbol: o.symbol ?? '', side: o.side ?? 'buy', orderType: o.order_type ?? 'market', quantity: o.quantity ?? 0,
  price: null, reduceOnly: false, ts: 0,
}));

export const OrdersBody = z.object({ orders: z.array(FullWireOrder) }).transform((b) => b.orders);

export const PositionsBody = z.object({
  positions: z.array(z.object({
    symbol: SymbolName,
    side: z.enum(['long', 'short']),
    size: Num,
    entry_price: Num,
    mark_price: Num,
    unrealized_pnl: Num,
    liquidation_price: nullableNum,
    leverage: Num,
    margin: Num,
  })),
}).transform((b): Position[] => b.positions.map((p) => ({
  symbol: p.symbol,
  side: p.side,
  size: p.size,
  entryPrice: p.entry_price,
  markPrice: p.mark_price,
  unrealizedPnl: p.unrealized_pnl,
  // Venues write "no liquidation price" (1x long) as null or 0.
  liquidationPrice: p.liquidation_price === null || p.liquidation_price <= 0 ? null : p.liquidation_price,
  leverage: p.leverage,
  margin: p.margin,
})));

export const AccruedFundingBody = z.object({ symbol: SymbolName, amount: Num })
  .transform((b): AccruedFunding => ({ symbol: b.symbol, amount: b.amount }));

export const AccountBody = z.object({
  equity: Num,
  available_margin: Num,
  used_margin: Num,
  currency: z.string().min(1),
}).transform((b): Account => ({
  equity: b.equity, availableMargin: b.available_margin, usedMargin: b.used_margin, currency: b.currency,
}));

export const ErrorEnvelope = z.object({
  error: z.object({ code: z.string().min(1), message: z.string().default('') }),
});

/** Parses `body` with `schema` or throws `ExchangeError('malformed')` naming the first bad path (never the value). */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length ? issue.path.join('.') : '(body)';
  throw new ExchangeError('malformed', `malformed ${what} response at ${where}: ${issue?.message ?? 'invalid'}`);
}
