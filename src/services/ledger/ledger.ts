/**
 * The desk's own ledger in Redis: every fill of PerpDesk's orders and hedge legs and every funding settlement of
 * every position, kept forever. The venue API has no fill or funding history, so this is the only record.
 *
 * - `ledger:ord:<client order id>`: the order's facts and every cumulative state seen of it (exactly-once: a state
 *   is identified by client order id + cumulative filled quantity; see OBSERVE_LUA). The fills are derived from
 *   the states (domain/ledger.ts `orderFills`).
 * - `ledger:funding`: one settlement per symbol and stamp.
 * - `ledger:events`: the raw stream of every change, in the order it was recorded, kept forever.
 * - `ledger:day:<YYYY-MM-DD>`: a day's per-symbol totals and the desk's books at its end, written once when the day
 *   is folded (a day after it ended) and never changed; `ledger:closed-until` is the end of the last folded day.
 */
import { z } from 'zod';
import type { Order } from '../../exchange/port.js';
import {
  DAY_MS, dayStart, FEE_SCHEDULE, ledgerTotals, orderFills, utcDay, type Book, type FeeSchedule, type FundingSettlement,
  type LedgerFill, type MarketKind, type OrderFacts, type SymbolTotals,
} from '../../domain/index.js';
import type { Logger } from '../../log.js';
import { key, type Store } from '../store.js';
import { deskOrderRef, isDeskClientOrderId } from './desk-orders.js';
import { closeDayScript, fundingScript, observeScript, registerScript } from './scripts.js';

const OrderMeta = z.object({
  clientOrderId: z.string(),
  symbol: z.string(),
  market: z.enum(['perp', 'spot']),
  side: z.enum(['buy', 'sell']),
  orderType: z.enum(['market', 'limit']),
  limit: z.number().nullable(),
  ref: z.string(),
});

export const FundingRecord = z.object({
  symbol: z.string(),
  /** The settled stamp. */
  ts: z.number(),
  /** + received, − paid. */
  amount: z.number().finite(),
  /** When it was recorded. */
  recordedAt: z.number(),
  /** Position at the sample before the stamp (signed: + long). */
  size: z.number(),
  /** Stamps this amount covers (more than one when samples around a stamp were missed). */
  stamps: z.number().int().positive(),
  note: z.string().optional(),
});
export type FundingRecord = z.infer<typeof FundingRecord>;

const SymbolTotalsSchema = z.object({
  realised: z.number(), fees: z.number(), funding: z.number(), fills: z.number(), boughtQty: z.number(), soldQty: z.number(),
  boughtNotional: z.number(), soldNotional: z.number(),
});
export const DayTotals = z.object({
  day: z.string(),
  bySymbol: z.record(z.string(), SymbolTotalsSchema),
  books: z.record(z.string(), z.object({ qty: z.number(), avgPrice: z.number() })),
  closedAt: z.number(),
});
export type DayTotals = z.infer<typeof DayTotals>;

export type ObserveOutcome = 'new' | 'updated' | 'unchanged' | 'refused' | 'not_desk' | 'no_fill';

/** A closed day is folded only once it has been over for this long, so answers still in flight land first. */
export const FOLD_GRACE_MS = DAY_MS;

/** Sightings remembered per process to skip re-sending states already recorded (a listing repeats them all). */
const SEEN_CACHE_MAX = 20_000;

export interface LedgerOptions {
  store: Store;
  now: () => number;
  log?: Logger;
  fees?: FeeSchedule;
}

export class Ledger {
  readonly fees: FeeSchedule;
  /** `coid|filled|placed` of states this process already recorded → the earliest sighting it recorded. */
  readonly #seen = new Map<string, number>();

  constructor(private readonly o: LedgerOptions) {
    this.fees = o.fees ?? FEE_SCHEDULE;
  }

  #k(...parts: string[]): string {
    return key(this.o.store, 'ledger', ...parts);
  }

  get #redis() {
    return this.o.store.redis;
  }

  /** Marks an order as the desk's before it is sent (see registerScript). */
  async register(req: { clientOrderId: string; symbol: string; side: 'buy' | 'sell'; orderType: 'market' | 'limit'; price?: number }, market: MarketKind): Promise<void> {
    const meta = metaOf({ clientOrderId: req.clientOrderId, symbol: req.symbol, side: req.side, orderType: req.orderType, price: req.price ?? null }, market);
    await registerScript.run(this.#redis, [this.#k('ord', req.clientOrderId)], [JSON.stringify(meta)]);
  }

  /** Records what the venue showed of orders: each cumulative state once, whatever order and however often seen. */
  async observe(orders: readonly Order[], market: MarketKind, opts: { atPlacement?: boolean; seenAt?: number } = {}): Promise<ObserveOutcome[]> {
    const seenAt = Math.trunc(opts.seenAt ?? this.o.now());
    const placed = opts.atPlacement ? 1 : 0;
    const out: ObserveOutcome[] = orders.map(() => 'no_fill');
    const calls: { i: number; memo: string; keys: string[]; args: (string | number)[] }[] = [];
    orders.forEach((order, i) => {
      if (!(order.filledQuantity > 0) || order.avgPrice === null || !Number.isFinite(order.avgPrice)) return;
      const filled = String(order.filledQuantity);
      const memo = `${order.clientOrderId}|${filled}|${placed}`;
      // Only an earlier sighting could change a recorded state (it keeps the earliest).
      const known = this.#seen.get(memo);
      if (known !== undefined && known <= seenAt) {
        out[i] = 'unchanged';
        return;
      }
      const notional = String(order.avgPrice * order.filledQuantity);
      calls.push({
        i, memo,
        keys: [this.#k('ord', order.clientOrderId), this.#k('orders'), this.#k('events'), this.#k('closed-until'), this.#k('version')],
        args: [JSON.stringify(metaOf(order, market)), filled, notional, seenAt, placed, order.clientOrderId, placed || isDeskClientOrderId(order.clientOrderId) ? '1' : '0'],
      });
    });
    if (!calls.length) return out;
    const replies = await observeScript.runMany(this.#redis, calls);
    replies.forEach((r, j) => {
      const c = calls[j]!;
      const code = Number(r);
      out[c.i] = code === 1 ? 'new' : code === 2 ? 'updated' : code === 0 ? 'unchanged' : code === -1 ? 'refused' : 'not_desk';
      {
        if (this.#seen.size >= SEEN_CACHE_MAX) this.#seen.clear();
        this.#seen.set(c.memo, Math.min(seenAt, this.#seen.get(c.memo) ?? Infinity));
      }
      if (code === -1) this.o.log?.warn({ clientOrderId: orders[c.i]!.clientOrderId }, 'ledger: a late answer would change a closed day; ignored');
    });
    return out;
  }

  /** Records one settlement; the same symbol and stamp again is a no-op. */
  async recordFunding(r: FundingRecord): Promise<'recorded' | 'duplicate' | 'refused'> {
    const rec = FundingRecord.parse(r);
    const code = Number(await fundingScript.run(
      this.#redis,
      [this.#k('funding'), this.#k('funding-ts'), this.#k('events'), this.#k('closed-until'), this.#k('version')],
      [`${rec.symbol}|${rec.ts}`, JSON.stringify(rec), rec.ts],
    ));
    return code === 1 ? 'recorded' : code === 0 ? 'duplicate' : 'refused';
  }

  /** Fills of the desk with `from <= ts < to`, in time order (optionally of some symbols only). */
  async fills(from: number, to = Infinity, symbols?: readonly string[]): Promise<LedgerFill[]> {
    // An order's fills are no later than its newest state's sighting, which is its score.
    const ids = await this.#redis.zrangebyscore(this.#k('orders'), from, '+inf');
    if (!ids.length) return [];
    const pipe = this.#redis.pipeline();
    for (const id of ids) pipe.hgetall(this.#k('ord', id));
    const res = (await pipe.exec()) ?? [];
    const out: LedgerFill[] = [];
    for (const [err, raw] of res) {
      if (err) throw err;
      const parsed = parseOrder(raw as Record<string, string>);
      if (!parsed || (symbols && !symbols.includes(parsed.facts.symbol))) continue;
      for (const f of orderFills(parsed.facts, parsed.points, this.fees)) if (f.ts >= from && f.ts < to) out.push(f);
    }
    return out;
  }

  /** For watchdogs: the desk's fills in `symbol` since `sinceMs` (did a PerpDesk order change this position?). */
  async fillsSince(symbol: string, sinceMs: number): Promise<LedgerFill[]> {
    return this.fills(sinceMs, Infinity, [symbol]);
  }

  /** Every fill recorded for one client order id. */
  async orderFills(clientOrderId: string): Promise<LedgerFill[]> {
    const parsed = parseOrder(await this.#redis.hgetall(this.#k('ord', clientOrderId)));
    return parsed ? orderFills(parsed.facts, parsed.points, this.fees) : [];
  }

  async funding(from: number, to = Infinity, symbols?: readonly string[]): Promise<FundingRecord[]> {
    const ids = await this.#redis.zrangebyscore(this.#k('funding-ts'), from, to === Infinity ? '+inf' : `(${to}`);
    if (!ids.length) return [];
    const raws = await this.#redis.hmget(this.#k('funding'), ...ids);
    const out: FundingRecord[] = [];
    for (const raw of raws) {
      const r = raw ? safeJson(FundingRecord, raw) : null;
      if (r && (!symbols || symbols.includes(r.symbol))) out.push(r);
    }
    return out;
  }

  /** Every symbol the ledger has a fill or a settlement of. */
  async symbols(): Promise<string[]> {
    const set = new Set<string>();
    for (const f of await this.fills(0)) set.add(f.symbol);
    for (const r of await this.funding(0)) set.add(r.symbol);
    return [...set].sort();
  }

  /** End of the last folded day (0 before the first fold). */
  async closedUntil(): Promise<number> {
    return Number((await this.#redis.get(this.#k('closed-until'))) ?? '0');
  }

  async day(day: string): Promise<DayTotals | null> {
    const raw = await this.#redis.get(this.#k('day', day));
    return raw ? safeJson(DayTotals, raw) : null;
  }

  async days(days: readonly string[]): Promise<(DayTotals | null)[]> {
    if (!days.length) return [];
    const raws = await this.#redis.mget(...days.map((d) => this.#k('day', d)));
    return raws.map((r) => (r ? safeJson(DayTotals, r) : null));
  }

  /** Folded days that start in `[from, to)`, oldest first. */
  async closedDays(from: number, to: number): Promise<DayTotals[]> {
    const names = await this.#redis.zrangebyscore(this.#k('days'), from, `(${to}`);
    return (await this.days(names)).filter((d): d is DayTotals => d !== null);
  }

  /** The desk's books at `closedUntil` (from the last folded day). */
  async booksAt(closedUntil: number): Promise<Record<string, Book>> {
    if (closedUntil <= 0) return {};
    return (await this.day(utcDay(closedUntil - 1)))?.books ?? {};
  }

  /** The oldest instant the ledger has anything for, or null when empty. */
  async firstEventAt(): Promise<number | null> {
    const [o, f] = await Promise.all([
      this.#redis.zrange(this.#k('orders'), '0', '0', 'WITHSCORES'),
      this.#redis.zrange(this.#k('funding-ts'), '0', '0', 'WITHSCORES'),
    ]);
    const firstFill = o.length ? (await this.fills(Number(o[1]))).reduce((m, x) => Math.min(m, x.ts), Number(o[1])) : Infinity;
    const t = Math.min(firstFill, f.length ? Number(f[1]) : Infinity);
    return Number.isFinite(t) ? t : null;
  }

  /**
   * Folds every day that ended at least FOLD_GRACE_MS ago into its totals, oldest first. Safe to run anywhere and
   * concurrently: a day is closed by compare-and-set on the ledger's version, so totals computed while a state
   * was being recorded are thrown away and computed again.
   */
  async foldDays(now: number = this.o.now()): Promise<string[]> {
    const closed: string[] = [];
    for (let attempt = 0; attempt < 1000; attempt++) {
      const [cuRaw, version] = await this.#redis.mget(this.#k('closed-until'), this.#k('version'));
      let start = Number(cuRaw ?? '0');
      if (start === 0) {
        const first = await this.firstEventAt();
        if (first === null) return closed;
        start = dayStart(utcDay(first));
      }
      const end = start + DAY_MS;
      if (now < end + FOLD_GRACE_MS) return closed;
      const day = utcDay(start);
      const books = await this.booksAt(start);
      const [fills, funding] = await Promise.all([this.fills(start, end), this.funding(start, end)]);
      const t = ledgerTotals(books, fills, funding.map(toSettlement));
      const json: DayTotals = { day, bySymbol: t.bySymbol, books: t.books, closedAt: now };
      const ok = Number(await closeDayScript.run(
        this.#redis,
        [this.#k('closed-until'), this.#k('version'), this.#k('day', day), this.#k('days')],
        [version ?? '0', cuRaw ?? '0', String(end), JSON.stringify(json), start, day],
      ));
      if (ok === 1) closed.push(day);
    }
    return closed;
  }

  /** How many raw events the stream holds (for /status-like checks and tests). */
  async eventCount(): Promise<number> {
    return this.#redis.xlen(this.#k('events'));
  }
}

export function toSettlement(r: FundingRecord): FundingSettlement {
  return { symbol: r.symbol, ts: r.ts, amount: r.amount };
}

export type { SymbolTotals };

function metaOf(o: { clientOrderId: string; symbol: string; side: 'buy' | 'sell'; orderType: 'market' | 'limit'; price: number | null }, market: MarketKind): z.infer<typeof OrderMeta> {
  return {
    clientOrderId: o.clientOrderId, symbol: o.symbol, market, side: o.side, orderType: o.orderType,
    limit: o.orderType === 'limit' ? o.price : null, ref: deskOrderRef(o.clientOrderId),
  };
}

function parseOrder(raw: Record<string, string>): { facts: OrderFacts; points: { filled: number; notional: number; seenAt: number; atPlacement: boolean }[] } | null {
  if (!raw.meta) return null;
  const facts = safeJson(OrderMeta, raw.meta);
  if (!facts) return null;
  const points = [];
  for (const [f, v] of Object.entries(raw)) {
    if (!f.startsWith('p:')) continue;
    const [n, t, p] = v.split('|');
    points.push({ filled: Number(f.slice(2)), notional: Number(n), seenAt: Number(t), atPlacement: p === '1' });
  }
  return { facts, points };
}

function safeJson<T>(schema: z.ZodType<T>, raw: string): T | null {
  try {
    const r = schema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
