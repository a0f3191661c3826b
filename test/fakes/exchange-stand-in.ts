/**
 * A local HTTP stand-in for the Purple Flea API: each route answers with what the test scripts (a status, body,
 * raw text, Retry-After, a delay, a hang or a dropped connection) and every request is recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  /** Path below the base, e.g. `/perp/ticker`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  at: number;
}

export interface StandInReply {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (for malformed bodies). */
  raw?: string;
  /** Wait before answering. */
  delayMs?: number;
  /** Never answer (until the stand-in closes). */
  hang?: boolean;
  /** Drop the connection without an answer. */
  destroy?: boolean;
}

/** `n` counts calls of this route, from 1. */
export type StandInHandler = (req: StandInRequest, n: number) => StandInReply | Promise<StandInReply>;

export interface ExchangeStandIn {
  /** Base URL for the client (`.../api/v1`). */
  url: string;
  requests: StandInRequest[];
  /** Scripts `route` (`'GET /perp/ticker'`), replacing any earlier handler. */
  on(route: string, handler: StandInHandler): void;
  calls(route: string): StandInRequest[];
  close(): Promise<void>;
}

export async function startExchangeStandIn(): Promise<ExchangeStandIn> {
  const handlers = new Map<string, StandInHandler>();
  const counts = new Map<string, number>();
  const requests: StandInRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const reply = (res: ServerResponse, r: StandInReply): void => {
    if (r.destroy) {
      res.socket?.destroy();
      return;
    }
    if (r.hang) return;
    const text = r.raw ?? (r.body === undefined ? '' : JSON.stringify(r.body));
    res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...r.headers });
    res.end(text);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://stand-in');
        const path = url.pathname.replace(/^\/api\/v1/, '');
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // keep the raw text
        }
        const rec: StandInRequest = {
          method: req.method ?? 'GET', path, query: url.searchParams, headers: req.headers, body, at: Date.now(),
        };
        requests.push(rec);
        const route = `${rec.method} ${path}`;
        const handler = handlers.get(route);
        if (!handler) {
          reply(res, { status: 404, body: { error: { code: 'not_found', message: `stand-in has no ${route}` } } });
          return;
        }
        const n = (counts.get(route) ?? 0) + 1;
        counts.set(route, n);
        const r = await handler(rec, n);
        if (r.delayMs) {
          const t = setTimeout(() => {
            timers.delete(t);
            reply(res, r);
          }, r.delayMs);
          timers.add(t);
        } else {
          reply(res, r);
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    requests,
    on(route, handler) {
      handlers.set(route, handler);
      counts.delete(route);
    },
    calls(route) {
      return requests.filter((r) => `${r.method} ${r.path}` === route);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
