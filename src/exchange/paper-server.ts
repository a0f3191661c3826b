/**
 * Serves a PaperExchange over the Purple Flea REST API (interfaces.md §3) at `/api/v1`, plus scenario routes under
 * `/api/v1/paper/...`. PurpleFleaClient pointed at it behaves like the embedded paper exchange.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { silentLogger, type Logger } from '../log.js';
import { ExchangeError, type OrderStatus } from './port.js';
import type { PaperExchange } from './paper/paper-exchange.js';
import { FILL_MODE_NAMES, type FillMode } from './paper/fill-models.js';
import { FEED_MODES, PAPER_FEEDS } from './paper/feed-freeze.js';
import { Num } from './schemas.js';
import {
  accountBody, accruedFundingBody, errorBody, fundingBody, instrumentsBody, openInterestBody, orderBody, ordersBody,
  positionsBody, spotTickerBody, tickerBody,
} from './wire.js';

export interface PaperServerOptions {
  exchange: PaperExchange;
  port: number;
  host?: string;
  /** When set, requests must carry exactly this `X-API-Key`; otherwise any non-empty key is accepted. */
  apiKey?: string;
  log?: Logger;
}

export interface PaperServerHandle {
  /** Base URL including `/api/v1`, ready for `PURPLEFLEA_BASE_URL`. */
  url: string;
  close(): Promise<void>;
}

const BASE = '/api/v1';
const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const PerpOrderRequest = z.object({
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  order_type: z.enum(['market', 'limit']),
  quantity: Num,
  price: Num.nullish(),
  leverage: Num,
  reduce_only: z.boolean().default(false),
  time_in_force: z.enum(['gtc', 'ioc']).optional(),
  client_order_id: z.string(),
});

const SpotOrderRequest = z.object({
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  order_type: z.enum(['market', 'limit']),
  quantity: Num,
  price: Num.nullish(),
  client_order_id: z.string(),
});

const PriceRequest = z.object({ symbol: z.string(), price: Num });
const FundingRequest = z.object({ symbol: z.string(), rate: Num.nullable() });
const CascadeRequest = z.object({ symbol: z.string(), oi_drop_pct: Num, price_drop_pct: Num, steps: Num });
const FillRequest = z.object({ symbol: z.string(), mode: z.enum(FILL_MODE_NAMES as [FillMode, ...FillMode[]]), fraction: Num.optional() });
const FeedRequest = z.object({ symbol: z.string(), feed: z.enum([...PAPER_FEEDS, 'all']), mode: z.enum(FEED_MODES) });
const TickRequest = z.object({ now_ms: Num.optional() });
const FaucetRequest = z.object({ amount: Num });
const StatusParam = z.enum(['new', 'partially_filled', 'filled', 'canceled', 'rejected']);

type Handler = (ctx: { query: URLSearchParams; body: () => Promise<unknown>; params: string[] }) => Promise<object>;

export async function startPaperServer(opts: PaperServerOptions): Promise<PaperServerHandle> {
  const ex = opts.exchange;
  const log = opts.log ?? silentLogger;
  const ok = { ok: true };

  const symbolOf = (q: URLSearchParams): string => {
    const s = q.get('symbol');
    if (!s) throw new HttpError(400, 'invalid_request', 'symbol is required');
    return s;
  };
  const orderQuery = (q: URLSearchParams): { clientOrderId?: string; status?: OrderStatus } => {
    const out: { clientOrderId?: string; status?: OrderStatus } = {};
    const cid = q.get('client_order_id');
    if (cid !== null) out.clientOrderId = cid;
    const status = q.get('status');
    if (status !== null) {
      const parsed = StatusParam.safeParse(status);
      if (!parsed.success) throw new HttpError(400, 'invalid_request', 'status must be an order status');
      out.status = parsed.data;
    }
    return out;
  };

  const routes: Record<string, Handler> = {
    'GET /perp/instruments': async () => instrumentsBody(await ex.instruments()),
    'GET /perp/funding': async ({ query }) => fundingBody(await ex.funding(symbolOf(query))),
    'GET /perp/ticker': async ({ query }) => tickerBody(await ex.ticker(symbolOf(query))),
    'GET /spot/ticker': async ({ query }) => spotTickerBody(await ex.spotTicker(symbolOf(query))),
    'GET /perp/oi': async ({ query }) => openInterestBody(await ex.openInterest(symbolOf(query))),
    'GET /perp/positions': async () => positionsBody(await ex.positions()),
    'GET /perp/accrued-funding': async ({ query }) => accruedFundingBody(await ex.accruedFunding(symbolOf(query))),
    'GET /account': async () => accountBody(await ex.account()),
    'GET /perp/orders': async ({ query }) => ordersBody(await ex.listOrders(orderQuery(query))),
    'GET /spot/orders': async ({ query }) => ordersBody(await ex.listSpotOrders(orderQuery(query))),
    'POST /perp/orders': async ({ body }) => {
      const r = parseRequest(PerpOrderRequest, await body());
      return orderBody(await ex.placeOrder({
        symbol: r.symbol, side: r.side, orderType: r.order_type, quantity: r.quantity,
        ...(r.price === undefined || r.price === null ? {} : { price: r.price }),
        leverage: r.leverage, reduceOnly: r.reduce_only,
        ...(r.time_in_force === undefined ? {} : { timeInForce: r.time_in_force }),
        clientOrderId: r.client_order_id,
      }));
    },
    'POST /spot/orders': async ({ body }) => {
      const r = parseRequest(SpotOrderRequest, await body());
      return orderBody(await ex.placeSpotOrder({
        symbol: r.symbol, side: r.side, orderType: r.order_type, quantity: r.quantity,
        ...(r.price === undefined || r.price === null ? {} : { price: r.price }),
        clientOrderId: r.client_order_id,
      }));
    },
    'DELETE /perp/orders/:id': async ({ params }) => orderBody(await ex.cancelOrder(params[0] ?? '')),
    'DELETE /spot/orders/:id': async ({ params }) => orderBody(await ex.cancelOrder(params[0] ?? '')),
    // Scenario controls.
    'POST /paper/price': async ({ body }) => {
      const r = parseRequest(PriceRequest, await body());
      await ex.setPrice(r.symbol, r.price);
      return ok;
    },
    'POST /paper/funding': async ({ body }) => {
      const r = parseRequest(FundingRequest, await body());
      await ex.setFunding(r.symbol, r.rate);
      return ok;
    },
    'POST /paper/cascade': async ({ body }) => {
      const r = parseRequest(CascadeRequest, await body());
      await ex.startCascade(r.symbol, { oiDropPct: r.oi_drop_pct, priceDropPct: r.price_drop_pct, steps: r.steps });
      return ok;
    },
    'POST /paper/fill': async ({ body }) => {
      const r = parseRequest(FillRequest, await body());
      await ex.setFillModel(r.symbol, r.mode, r.fraction);
      return ok;
    },
    'GET /paper/fill': async () => ({ fill_models: await ex.fillModels() }),
    // A feed gone stale at the venue: `stale` repeats the values and stamp of now, `fail` answers 503, `live` undoes it.
    'POST /paper/feed': async ({ body }) => {
      const r = parseRequest(FeedRequest, await body());
      await ex.setFeedMode(r.symbol, r.feed, r.mode);
      return ok;
    },
    'GET /paper/feed': async () => ({ frozen_feeds: await ex.frozenFeeds() }),
    'POST /paper/tick': async ({ body }) => {
      const r = parseRequest(TickRequest, await body());
      await ex.tick(r.now_ms);
      return { ok: true, now_ms: ex.now };
    },
    'POST /paper/reset': async () => {
      await ex.reset();
      return ok;
    },
    'POST /paper/faucet': async ({ body }) => {
      const r = parseRequest(FaucetRequest, await body());
      await ex.faucet(r.amount);
      return ok;
    },
    'GET /paper/balances': async () => ({ balances: await ex.spotBalances() }),
    'GET /paper/liquidations': async () => ({ liquidations: await ex.liquidations() }),
    'GET /paper/funding-history': async () => ({ funding: await ex.fundingHistory() }),
  };

  const route = (method: string, path: string): { handler: Handler; params: string[] } | null => {
    const exact = routes[`${method} ${path}`];
    if (exact) return { handler: exact, params: [] };
    const m = /^\/(perp|spot)\/orders\/([^/]+)$/.exec(path);
    const byId = m ? routes[`${method} /${m[1]}/orders/:id`] : undefined;
    if (m && byId) return { handler: byId, params: [decodeURIComponent(m[2]!)] };
    return null;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://paper.local');
    // Liveness for container health checks: no key, no state.
    if (url.pathname === '/healthz' && req.method === 'GET') return send(res, 200, { ok: true });
    if (!url.pathname.startsWith(`${BASE}/`)) throw new HttpError(404, 'not_found', 'no such route');
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') throw new HttpError(401, 'missing_api_key', 'X-API-Key header is required');
    if (opts.apiKey !== undefined && key !== opts.apiKey) throw new HttpError(401, 'invalid_api_key', 'API key rejected');
    const found = route(req.method ?? 'GET', url.pathname.slice(BASE.length));
    if (!found) throw new HttpError(404, 'not_found', 'no such route');
    const body = await found.handler({ query: url.searchParams, body: () => readJson(req), params: found.params });
    send(res, 200, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return send(res, e.status, errorBody(e.code, e.message));
      if (e instanceof ExchangeError) {
        return send(res, e.status ?? 400, errorBody(e.code ?? e.kind, e.message));
      }
      log.error({ err: e }, 'paper server request failed');
      send(res, 500, errorBody('internal', 'internal error'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}${BASE}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length ? issue.path.join('.') : 'body';
  throw new HttpError(400, 'invalid_request', `invalid ${where}: ${issue?.message ?? 'invalid'}`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new HttpError(413, 'body_too_large', 'request body too large');
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_request', 'body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
