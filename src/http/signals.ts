/**
 * `POST /signals` (interfaces.md §5): a TradingView-style webhook asks for an order; SignalIntake turns it into an
 * approval preview. This file is the edge: the secret (HMAC-SHA256 of the raw body in `X-PerpDesk-Signature`, or
 * `?token=`, both compared in constant time), the 64 KB limit, JSON and zod validation, rate limits, and one audit
 * entry per request that never holds the secret, the signature or the token.
 *
 * Rate limits, both in Redis (shared by every replica): an authenticated source gets SOURCE_LIMIT requests a minute;
 * failed authentications are counted per address, so a stranger cannot use up a real source's budget by sending
 * bad signatures in its name, and a flood of them is answered 429 too.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Secret } from '../config/secret.js';
import { errorRef } from '../errors.js';
import { ExchangeError } from '../exchange/port.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../services/audit.js';
import { SignalBody, SOURCE, type SignalIntake, type SignalOutcome } from '../services/signals/intake.js';

export const SIGNALS_PATH = '/signals';
export const SIGNAL_BODY_LIMIT = 64 * 1024;

export interface SignalLimits {
  /** Accepted requests per source per window. */
  perSource: { points: number; seconds: number };
  /** Failed authentications per address per window. */
  failures: { points: number; seconds: number };
}

export const DEFAULT_SIGNAL_LIMITS: SignalLimits = { perSource: { points: 30, seconds: 60 }, failures: { points: 10, seconds: 60 } };

export interface SignalEndpointOptions {
  secret: Secret | undefined;
  intake: Pick<SignalIntake, 'submit'>;
  audit: Pick<AuditLog, 'append'>;
  redis: Redis;
  /** Redis key prefix of the deployment. */
  prefix: string;
  log: Logger;
  now(): number;
  limits?: SignalLimits;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();

/** `sha256=<hex>` of the raw body, compared in constant time. */
export function validSignature(secret: string, body: Buffer, header: string): boolean {
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
}

/** The token compared by digest: equal lengths whatever was sent, so the time taken says nothing of the secret. */
export function validToken(secret: string, token: string): boolean {
  return timingSafeEqual(digest(secret), digest(token));
}

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(new TooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => (over ? undefined : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function signalEndpoint(o: SignalEndpointOptions): { prefix: string; handle(req: IncomingMessage, res: ServerResponse): void } {
  const limits = o.limits ?? DEFAULT_SIGNAL_LIMITS;
  const perSource = new RateLimiterRedis({ storeClient: o.redis, keyPrefix: `${o.prefix}:signals:rl:source`, points: limits.perSource.points, duration: limits.perSource.seconds });
  const failures = new RateLimiterRedis({ storeClient: o.redis, keyPrefix: `${o.prefix}:signals:rl:auth`, points: limits.failures.points, duration: limits.failures.seconds });

  const send = (res: ServerResponse, a: Answer) => {
    if (res.headersSent) return;
    res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', ...a.headers });
    res.end(`${JSON.stringify(a.body)}\n`);
  };

  const audit = async (action: string, source: string, subject: string, detail: string) => {
    try {
      await o.audit.append({ ts: o.now(), actor: `signal ${source}`, platform: 'webhook', action, subject: subject.slice(0, 80), detail: detail.slice(0, 500) });
    } catch (err) {
      // The answer stands whether or not it could be audited.
      o.log.warn({ err: { message: (err as Error).message }, action }, 'could not audit a signal request');
    }
  };

  /** A limiter's refusal as 429 with Retry-After; anything else (Redis down) is thrown. */
  const limited = async (limiter: RateLimiterRedis, key: string): Promise<Answer | null> => {
    try {
      await limiter.consume(key);
      return null;
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      const seconds = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
      return { status: 429, body: { error: `too many requests: try again in ${seconds} s` }, headers: { 'retry-after': String(seconds) } };
    }
  };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<Answer> {
    const url = new URL(req.url ?? '/', 'http://signals.local');
    const address = req.socket.remoteAddress ?? 'unknown';
    if (url.pathname !== SIGNALS_PATH) return { status: 404, body: { error: 'not found' } };
    if (!o.secret) return { status: 404, body: { error: 'POST /signals is disabled: set SIGNAL_SECRET to enable it' } };
    if (req.method !== 'POST') return { status: 405, body: { error: 'use POST' }, headers: { allow: 'POST' } };
    const named = url.searchParams.get('source');
    if (named !== null && !SOURCE.test(named)) {
      await audit('signal.bad_request', `ip:${address}`, '-', 'source name is not 1-60 letters, digits or _ . : -');
      return { status: 400, body: { error: 'source must be 1-60 letters, digits or _ . : -' } };
    }
    const source = named ?? `ip:${address}`;
    if (Number(header(req, 'content-length') ?? 0) > SIGNAL_BODY_LIMIT) {
      res.setHeader('connection', 'close');
      await audit('signal.too_large', source, '-', `declared ${header(req, 'content-length')} bytes, limit ${SIGNAL_BODY_LIMIT}`);
      return { status: 413, body: { error: `the body is larger than ${SIGNAL_BODY_LIMIT / 1024} KB` } };
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, SIGNAL_BODY_LIMIT);
    } catch (e) {
      if (!(e instanceof TooLarge)) throw e;
      res.setHeader('connection', 'close');
      await audit('signal.too_large', source, '-', `more than ${SIGNAL_BODY_LIMIT} bytes`);
      return { status: 413, body: { error: `the body is larger than ${SIGNAL_BODY_LIMIT / 1024} KB` } };
    }

    const signature = header(req, 'x-perpdesk-signature');
    const token = url.searchParams.get('token');
    const secret = o.secret.reveal();
    const authed = signature !== undefined ? validSignature(secret, raw, signature) : token !== null && validToken(secret, token);
    if (!authed) {
      const why = signature !== undefined ? 'bad signature' : token !== null ? 'bad token' : 'no signature or token';
      const busy = await limited(failures, address);
      await audit('signal.unauthorized', source, '-', `${why} from ${address}${busy ? '; too many failures, answered 429' : ''}`);
      return busy ?? { status: 401, body: { error: `${why}: sign the body (X-PerpDesk-Signature: sha256=<hex HMAC-SHA256>) or pass ?token=` } };
    }
    const busy = await limited(perSource, source);
    if (busy) {
      await audit('signal.rate_limited', source, '-', `${busy.body.error as string}`);
      return busy;
    }

    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      await audit('signal.bad_request', source, '-', 'the body is not JSON');
      return { status: 400, body: { error: 'the body is not JSON' } };
    }
    const parsed = SignalBody.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.');
      const given = typeof json === 'object' && json !== null && !Array.isArray(json) && field ? (json as Record<string, unknown>)[field] !== undefined : true;
      const reason = !given ? `${field} is missing` : (issue?.message ?? 'invalid body');
      await audit('signal.bad_request', source, idOf(json), reason);
      return { status: 400, body: { error: reason } };
    }
    const s = parsed.data;
    const what = `${s.symbol} ${s.side} ${s.size_usd} USD at ${s.leverage}x${s.price === undefined ? '' : ` limit ${s.price}`}`;
    let out: SignalOutcome;
    try {
      out = await o.intake.submit(s, source);
    } catch (e) {
      if (e instanceof ExchangeError) {
        await audit('signal.failed', source, s.id ?? '-', `${what}: the exchange did not answer (${e.kind})`);
        return { status: 503, body: { error: 'the exchange did not answer; nothing was created, try again' }, headers: { 'retry-after': '5' } };
      }
      throw e;
    }
    switch (out.kind) {
      case 'created':
      case 'replayed': {
        const a = out.approval;
        await audit(out.kind === 'created' ? 'signal.accepted' : 'signal.replayed', source, s.id ?? a.id, `${what} → approval ${a.id} (${a.status})`);
        return {
          status: 202,
          body: { approval_id: a.id, status: a.status, expires_at: new Date(a.expiresAt).toISOString(), replayed: out.kind === 'replayed' },
        };
      }
      case 'refused':
        await audit('signal.refused', source, s.id ?? '-', `${what}: ${out.reason}`);
        return { status: 400, body: { error: out.reason } };
      case 'blocked':
        await audit('signal.blocked', source, s.id ?? '-', `${what}: ${out.reasons.join('; ')}`);
        return { status: 422, body: { error: 'the order cannot be approved as it stands', reasons: out.reasons } };
    }
  }

  return {
    prefix: SIGNALS_PATH,
    handle(req, res) {
      answer(req, res).then(
        (a) => {
          send(res, a);
          // Whatever the client still sends (an oversized body) is read and dropped, so the answer reaches it.
          req.resume();
        },
        (err: unknown) => {
          const ref = errorRef();
          o.log.error({ err, ref }, 'signal request failed');
          send(res, { status: 500, body: { error: `internal error (ref ${ref}); send it again with the same id` } });
          req.resume();
        },
      );
    },
  };
}

function idOf(json: unknown): string {
  const id = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).id : undefined;
  return typeof id === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(id) ? id : '-';
}
