/**
 * A local stand-in for a relay proxy in front of the real venues (MARKET_VENUES_PROXY_URL). ccxt sends every
 * request to `<proxy><venue URL>`, URL-encoding the venue URL when it has a query (ccxt's urlEncoderForProxyUrl), so
 * this server reads the venue URL back from its path and answers from recorded venue responses (recordings.ts) —
 * market loading included. Tests add faults per venue: a hang (timeout), 429 with Retry-After, a malformed body or
 * any status; and may rewrite a recorded body (a venue's open interest dropping). Every request is logged; one that
 * matches no recording gets 404 and is listed in `unmatched` so a test can insist there are none.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RECORDINGS, type Recording } from './recordings.js';

export type VenueFault =
  | { kind: 'hang' }
  | { kind: 'rate_limit'; retryAfterS: number }
  | { kind: 'malformed' }
  | { kind: 'status'; status: number; body?: string };

export interface RelayRequest {
  venue: string | null;
  method: string;
  /** The venue URL ccxt asked for (decoded). */
  url: string;
  body: string;
  at: number;
}

export interface VenueRelay {
  /** The MARKET_VENUES_PROXY_URL to give PerpDesk (ends in `/`). */
  proxyUrl: string;
  requests: RelayRequest[];
  /** Requests no recording answers (answered 404). */
  unmatched: RelayRequest[];
  /** Every request to this venue gets `fault` from now on (or only those whose recording is named `only`). `clearFaults` ends hangs too. */
  fault(venue: string, fault: VenueFault, only?: string): void;
  clearFaults(): void;
  /** Rewrites the body of one recording (`venue`, recording name) for every later answer until cleared. */
  rewrite(venue: string, name: string, fn: (body: unknown) => unknown): void;
  clearRewrites(): void;
  /** Requests seen for a venue (optionally only those answered by one recording). */
  calls(venue: string, name?: string): RelayRequest[];
  close(): Promise<void>;
}

/** ccxt encodes a venue URL with a query as one path segment; one without a query comes through as is. */
export function venueUrlOf(path: string): string {
  const rest = path.slice(1);
  return /^https?:\/\//.test(rest) ? rest : decodeURIComponent(rest);
}

function matches(r: Recording, method: string, url: URL, body: string): boolean {
  if (r.method !== method || r.host !== url.host || r.path !== url.pathname) return false;
  for (const [k, v] of Object.entries(r.query ?? {})) if (v === null ? url.searchParams.has(k) : url.searchParams.get(k) !== v) return false;
  if (r.bodyType !== undefined) {
    try {
      if ((JSON.parse(body) as { type?: string }).type !== r.bodyType) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export async function startVenueRelay(opts: { recordings?: readonly Recording[] } = {}): Promise<VenueRelay> {
  const recordings = opts.recordings ?? RECORDINGS;
  const requests: RelayRequest[] = [];
  const unmatched: RelayRequest[] = [];
  const faults = new Map<string, { fault: VenueFault; only?: string }>();
  const rewrites = new Map<string, (body: unknown) => unknown>();
  const hung = new Set<ServerResponse>();
  const answeredBy = new WeakMap<RelayRequest, string>();

  const send = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    let target: URL;
    try {
      target = new URL(venueUrlOf(req.url ?? '/'));
    } catch {
      send(res, 400, JSON.stringify({ error: 'relay: not <proxy><venue URL>' }));
      return;
    }
    const rec = recordings.find((r) => matches(r, req.method ?? 'GET', target, body));
    const venue = rec?.venue ?? recordings.find((r) => r.host === target.host)?.venue ?? null;
    const logged: RelayRequest = { venue, method: req.method ?? 'GET', url: target.toString(), body, at: Date.now() };
    requests.push(logged);
    const f = venue ? faults.get(venue) : undefined;
    if (f && (f.only === undefined || f.only === rec?.name)) {
      const fault = f.fault;
      if (fault.kind === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      if (fault.kind === 'rate_limit') return send(res, 429, JSON.stringify({ code: -1003, msg: 'Too many requests; current limit is exceeded.' }), { 'retry-after': String(fault.retryAfterS) });
      if (fault.kind === 'malformed') return send(res, 200, '{"symbol":"BTCUSDT","lastFundingRate":');
      return send(res, fault.status, fault.body ?? '{}');
    }
    if (!rec) {
      unmatched.push(logged);
      return send(res, 404, JSON.stringify({ error: 'relay: no recording for this request' }));
    }
    answeredBy.set(logged, rec.name);
    const fn = rewrites.get(`${rec.venue} ${rec.name}`);
    const data = fn ? fn(structuredClone(rec.body)) : rec.body;
    send(res, 200, JSON.stringify(data));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    proxyUrl: `http://127.0.0.1:${port}/`,
    requests,
    unmatched,
    fault: (venue, fault, only) => void faults.set(venue, { fault, ...(only === undefined ? {} : { only }) }),
    clearFaults: () => {
      faults.clear();
      // A venue that comes back drops the requests it sat on; ccxt sees a network error for those.
      for (const res of hung) res.socket?.destroy();
      hung.clear();
    },
    rewrite: (venue, name, fn) => void rewrites.set(`${venue} ${name}`, fn),
    clearRewrites: () => rewrites.clear(),
    calls: (venue, name) => requests.filter((r) => r.venue === venue && (name === undefined || answeredBy.get(r) === name)),
    close: async () => {
      for (const res of hung) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
