/**
 * Positions that change behind the desk's back (issue 18 §1). Each risk-monitor run compares the venue's positions
 * with the last known book (kept in Redis), net of what the desk's own orders filled since, and reports what is
 * left — liquidation, auto-deleveraging, a close or an open outside PerpDesk (domain/position-changes.ts decides
 * which). The desk's orders are the venue orders whose client order id belongs to one of its own records: an order
 * approval (`pd-<approval>`), a harvester plan (`hv-<plan>-<leg>`) or a flatten (`fl-<flatten>-<leg>`); the book keeps how much each had filled, so a
 * resting order that fills between two runs is the desk's, however long it rested.
 *
 * Exactly once: the alert key is derived from the book it was computed against, the alert is published first and
 * the book replaced after, so a crash in between repeats the same key on the next run (de-duplicated) instead of
 * losing the report or sending it twice.
 */
import { z } from 'zod';
import { positionChanges, type ChangeReason, type KnownPosition, type PositionChange } from '../../domain/position-changes.js';
import { isDomainError } from '../../domain/result.js';
import { price, qty, signedUsd } from '../../format.js';
import type { Logger } from '../../log.js';
import type { Exchange, Instrument, Order, Position } from '../../exchange/port.js';
import type { AlertService } from '../alerts/publish.js';
import type { AlertInput } from '../alerts/types.js';
import type { ApprovalStore } from '../approvals/store.js';
import type { AuditLog } from '../audit.js';
import type { CascadeState } from '../cascade-state.js';
import type { HarvesterState } from '../harvester/state.js';
import type { FlattenStore } from '../flatten/store.js';
import { key, type Store } from '../store.js';

const Known = z.object({
  symbol: z.string(),
  side: z.enum(['long', 'short']),
  size: z.number(),
  entry: z.number(),
  mark: z.number(),
  liq: z.number().nullable(),
  margin: z.number(),
});

const Book = z.object({
  /** When the book was taken (our clock); also the version alert keys are derived from. */
  at: z.number(),
  positions: z.array(Known),
  /** Desk orders seen at the venue: client order id → symbol and signed filled quantity (+ bought). */
  deskFilled: z.record(z.string(), z.object({ symbol: z.string(), filled: z.number() })),
});
type Book = z.infer<typeof Book>;

/** Long enough that a crash-and-retry of the same run, however late, finds the key. */
const ALERT_COOLDOWN_MS = 7 * 86_400_000;

export interface PositionWatchDeps {
  store: Store;
  exchange: Exchange;
  alerts: AlertService;
  approvals: ApprovalStore;
  harvester: HarvesterState;
  /** `/flatten` legs (`fl-<flatten>-<leg>`) are the desk's own closes. */
  flattens?: FlattenStore;
  cascade: CascadeState;
  audit: AuditLog;
  log: Logger;
}

export interface PositionWatchOutcome {
  /** `<symbol>:<reason>` per change reported this run. */
  reported: string[];
  /** Symbols whose comparison waited for the next run: a desk order filled while the snapshot was taken. */
  deferred: string[];
  /** True on the first look: the book was adopted as it is, with nothing to compare it with. */
  adopted: boolean;
}

const REASON_WORDS: Record<ChangeReason, string> = {
  liquidation: 'liquidation',
  adl: 'auto-deleveraging',
  outside_close: 'a close outside PerpDesk',
  outside_open: 'an order outside PerpDesk',
};

export class PositionWatch {
  constructor(private readonly d: PositionWatchDeps) {}

  get #key(): string {
    return key(this.d.store, 'watch', 'positions');
  }

  async book(): Promise<Book | null> {
    const raw = await this.d.store.redis.get(this.#key);
    if (!raw) return null;
    try {
      const p = Book.safeParse(JSON.parse(raw));
      return p.success ? p.data : null;
    } catch {
      return null;
    }
  }

  /**
   * Compares `positions` (just read from the venue) with the book. `ordersBefore` was listed before the positions
   * were read; the orders are listed again here, and a symbol whose desk orders moved in between waits a run.
   */
  async run(positions: Position[], ordersBefore: Order[], instruments: Instrument[], now: number): Promise<PositionWatchOutcome> {
    const ordersAfter = await this.d.exchange.listOrders({});
    const prior = await this.book();
    const deskFilled = await this.#deskOrders(ordersAfter, prior);
    const before = await this.#deskOrders(ordersBefore, prior, deskFilled);
    const moving = new Set<string>();
    for (const [cid, o] of Object.entries(deskFilled)) if ((before[cid]?.filled ?? 0) !== o.filled) moving.add(o.symbol);

    const current = positions.map(toKnown);
    if (!prior) {
      await this.#save({ at: now, positions: current, deskFilled });
      return { reported: [], deferred: [], adopted: true };
    }
    const outcome: PositionWatchOutcome = { reported: [], deferred: [...moving], adopted: false };
    const symbols = new Set([...prior.positions.map((p) => p.symbol), ...current.map((p) => p.symbol)]);
    for (const symbol of symbols) {
      if (moving.has(symbol)) continue;
      const was = prior.positions.find((p) => p.symbol === symbol) ?? null;
      const is = positions.find((p) => p.symbol === symbol) ?? null;
      const inst = instruments.find((i) => i.symbol === symbol);
      const deskDelta = Object.entries(deskFilled)
        .filter(([, o]) => o.symbol === symbol)
        .reduce((sum, [cid, o]) => sum + o.filled - (prior.deskFilled[cid]?.filled ?? 0), 0);
      // A vanished position has no mark of its own: the ticker says where the market is now.
      const markNow = is ? is.markPrice : await this.d.exchange.ticker(symbol).then((t) => t.markPrice, () => null);
      const changes = positionChanges({
        before: was,
        after: is ? { side: is.side, size: is.size, entry: is.entryPrice, mark: is.markPrice } : null,
        deskDelta,
        lotSize: inst?.lotSize ?? 1e-9,
        markNow,
        cascadeActive: (await this.d.cascade.active(symbol, now)) !== null,
      });
      if (isDomainError(changes)) {
        this.d.log.warn({ symbol, error: changes.error }, 'position watchdog: unreadable position');
        continue;
      }
      for (const c of changes) {
        await this.d.alerts.publish(changeAlert(symbol, c, was, is, markNow, inst, prior.at, now));
        if (c.reason !== 'outside_open' && was) await this.#breakHedge(symbol, c, is, prior.at, now, inst);
        await this.d.audit.append({ ts: now, actor: 'PerpDesk watchdog', platform: 'system', action: 'position.outside_change', subject: symbol, detail: `${c.what} ${c.side} ${c.quantity} at ${c.price}: most likely ${REASON_WORDS[c.reason]}` });
        this.d.log.warn({ symbol, reason: c.reason, what: c.what, quantity: c.quantity }, 'position changed without a PerpDesk order');
        outcome.reported.push(`${symbol}:${c.reason}`);
      }
    }
    // Symbols that waited keep their old entry (and their orders' old fills), so the next run compares them whole.
    const next: Book = {
      at: now,
      positions: [...current.filter((p) => !moving.has(p.symbol)), ...prior.positions.filter((p) => moving.has(p.symbol))],
      deskFilled: Object.fromEntries(Object.entries(deskFilled).map(([cid, o]) => [cid, moving.has(o.symbol) ? (prior.deskFilled[cid] ?? { symbol: o.symbol, filled: 0 }) : o])),
    };
    await this.#save(next);
    return outcome;
  }

  async #save(b: Book): Promise<void> {
    await this.d.store.redis.set(this.#key, JSON.stringify(b));
  }

  /**
   * The desk's orders among `orders`, with their signed fills. An id the book already knows is the desk's; a new
   * `pd-`/`hv-` id counts only when the record it names exists (anyone can type a prefix at the venue).
   */
  async #deskOrders(orders: Order[], prior: Book | null, known: Book['deskFilled'] = {}): Promise<Book['deskFilled']> {
    const out: Book['deskFilled'] = {};
    for (const o of orders) {
      const cid = o.clientOrderId;
      if (!(cid in known) && !(prior && cid in prior.deskFilled) && !(await this.#isDesk(cid))) continue;
      out[cid] = { symbol: o.symbol, filled: (o.side === 'buy' ? 1 : -1) * o.filledQuantity };
    }
    return out;
  }

  async #isDesk(cid: string): Promise<boolean> {
    const approval = /^pd-(.+)$/.exec(cid);
    if (approval) return (await this.d.approvals.get(approval[1]!)) !== null;
    const leg = /^hv-([a-z0-9]{4,32})-\d+u?$/.exec(cid);
    if (leg) return (await this.d.harvester.plan(leg[1]!)) !== null;
    const flatten = /^fl-(f[a-z0-9]{4,31})-\d+$/.exec(cid);
    if (flatten && this.d.flattens) return (await this.d.flattens.get(flatten[1]!)) !== null;
    return false;
  }

  /** A hedge whose perp leg shrank behind the desk's back no longer hedges its spot leg: nothing trades it until a person decides. */
  async #breakHedge(symbol: string, c: PositionChange, is: Position | null, bookAt: number, now: number, inst: Instrument | undefined): Promise<void> {
    const hedge = await this.d.harvester.hedge(symbol);
    if (!hedge || hedge.status !== 'open' || hedge.perpSide !== c.side) return;
    const left = is && is.side === hedge.perpSide ? Math.min(is.size, hedge.perpQty) : 0;
    const why = `the perp leg was ${c.what === 'closed' ? 'closed' : 'reduced'} by ${REASON_WORDS[c.reason]}, not by PerpDesk`;
    // Alert first: a crash before the record is written repeats the same key next run (de-duplicated).
    await this.d.alerts.publish({
      key: `harvester:naked:${symbol}:${bookAt}`,
      kind: 'harvester',
      severity: 'critical',
      symbol,
      title: `Hedge broken — ${symbol}: the spot leg is naked`,
      text: `${why[0]!.toUpperCase()}${why.slice(1)}. The venue holds ${hedge.perpSide} perp ${qty(left, inst?.lotSize)} against spot ${qty(hedge.spotQty)} ${hedge.spotSymbol}. The harvester will not trade ${symbol} until a person decides: sell or hedge the spot leg, close what is left of the perp (/close ${symbol}), then /harvester start.`,
      fields: [
        { name: 'Perp leg', value: `${hedge.perpSide} ${qty(hedge.perpQty, inst?.lotSize)} → ${qty(left, inst?.lotSize)}`, inline: true },
        { name: 'Spot leg', value: `${qty(hedge.spotQty)} ${hedge.spotSymbol}`, inline: true },
      ],
      incident: `harvester:naked:${symbol}:${bookAt}`,
      cooldownMs: ALERT_COOLDOWN_MS,
      at: now,
    });
    await this.d.harvester.putHedge({ ...hedge, perpQty: left, status: 'broken', note: why });
  }
}

function toKnown(p: Position): KnownPosition {
  return { symbol: p.symbol, side: p.side, size: p.size, entry: p.entryPrice, mark: p.markPrice, liq: p.liquidationPrice, margin: p.margin };
}

const TITLES: Record<ChangeReason, (c: PositionChange) => string> = {
  liquidation: () => 'Position liquidated',
  adl: (c) => (c.what === 'closed' ? 'Position auto-deleveraged' : 'Position partly auto-deleveraged'),
  outside_close: (c) => (c.what === 'closed' ? 'Position closed outside PerpDesk' : 'Position reduced outside PerpDesk'),
  outside_open: (c) => (c.what === 'opened' ? 'Position opened outside PerpDesk' : 'Position increased outside PerpDesk'),
};

function changeAlert(symbol: string, c: PositionChange, was: KnownPosition | null, is: Position | null, markNow: number | null, inst: Instrument | undefined, bookAt: number, now: number): AlertInput {
  const lot = inst?.lotSize;
  const tick = inst?.tickSize;
  const size = (p: { side: string; size: number } | null) => (p ? `${p.side} ${qty(p.size, lot)}` : 'none');
  const why: Record<ChangeReason, string> = {
    liquidation: `Most likely a liquidation: the mark (${price(markNow ?? was?.mark ?? 0, tick)}) reached the liquidation price (${price(was?.liq ?? 0, tick)}); the isolated margin is lost.`,
    adl: `Most likely auto-deleveraging: the position was in profit while the market was in distress (a cascade, or a sharp move since the last look), which is when a venue takes profitable positions to cover bankrupt ones.`,
    outside_close: `Most likely a close outside PerpDesk (at the venue, by a person or another bot): no PerpDesk order explains it.`,
    outside_open: `No PerpDesk order explains it: someone traded at the venue, outside PerpDesk. The desk's risk checks never saw this exposure.`,
  };
  const fields: NonNullable<AlertInput['fields']> = [
    { name: 'Position', value: `${size(was)} → ${size(is)}`, inline: true },
    { name: c.reason === 'outside_open' ? 'Opened' : 'Gone', value: `${c.side} ${qty(c.quantity, lot)}`, inline: true },
    { name: c.reason === 'liquidation' ? 'Liquidation price' : c.reason === 'outside_open' ? 'Entry' : 'Price (mark, est.)', value: price(c.price, tick), inline: true },
  ];
  if (c.realizedPnl !== null) fields.push({ name: c.estimated ? 'Realised PnL (est.)' : 'Realised loss (margin)', value: signedUsd(c.realizedPnl), inline: true });
  if (markNow !== null && c.reason !== 'liquidation') fields.push({ name: 'Mark now', value: price(markNow, tick), inline: true });
  return {
    key: `position:${symbol}:${c.side}:${c.reason}:${bookAt}`,
    kind: 'position',
    severity: c.reason === 'liquidation' ? 'critical' : 'warning',
    symbol,
    title: `${TITLES[c.reason](c)} — ${symbol} ${c.side} ${qty(c.quantity, lot)}`,
    text: why[c.reason],
    fields,
    incident: `position:${symbol}:${c.side}:${c.reason}:${bookAt}`,
    cooldownMs: ALERT_COOLDOWN_MS,
    at: now,
  };
}
