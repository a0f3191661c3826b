/**
 * Executes an approved flatten, exactly once per leg, resumable after a crash. The legs are planned once when the
 * execution starts (every resting order to cancel, every position to close, as the venue shows them then) and each
 * leg's state is written to Redis before it is acted on. A close leg carries the client order id
 * `fl-<flatten id>-<leg>`: a resumed run looks it up before anything else and records what the venue did, so a leg
 * already sent is never sent again (and the venue returns the first order for a repeated id anyway). Closes are
 * reduce-only and immediate-or-cancel, so they cannot over-close and nothing of them rests after a crash; in a symbol
 * in cascade they are limits within 0.5 % of mark (domain.md §7). One runner at a time holds a claim in Redis; a
 * crashed runner's claim lapses and the orders sweep resumes the flatten. The report goes out before the flatten
 * is marked final, so a crash in between repeats the report rather than losing it.
 */
import { randomBytes } from 'node:crypto';
import { ceilToStep, floorToStep } from '../../domain/numbers.js';
import { ExchangeError, type Exchange, type Order } from '../../exchange/port.js';
import type { Logger } from '../../log.js';
import { price as fmtPrice } from '../../format.js';
import type { Announcer } from '../alerts/announce.js';
import type { AlertService } from '../alerts/publish.js';
import type { HarvesterState } from '../harvester/state.js';
import type { AuditLog } from '../audit.js';
import { SYSTEM, type ApprovalStore, type Cause } from '../approvals/store.js';
import type { ApprovalRecord } from '../approvals/types.js';
import type { CascadeState } from '../cascade-state.js';
import type { MarketService } from '../market.js';
import { approvalIdOf, finishCanceling, isOpenOrder, type OrderCanceller } from '../orders/cancel.js';
import { openOrders } from '../orders/resting.js';
import { CASCADE_MAX_SLIPPAGE } from '../orders/policy.js';
import { flattenReport } from './render.js';
import { flattenWords, type FlattenStore } from './store.js';
import { FLATTEN_FINAL, legClientId, type FlattenLeg, type FlattenRecord, type LegRequest } from './types.js';

/** A runner that stops touching its claim this long is taken for dead, and another may resume the flatten. */
export const FLATTEN_RUNNER_TTL_MS = 30_000;

export class FlattenOutcomeUnknown extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlattenOutcomeUnknown';
  }
}

export interface FlattenExecutorDeps {
  flattens: FlattenStore;
  approvals: ApprovalStore;
  canceller: OrderCanceller;
  exchange: Exchange;
  cascade: CascadeState;
  market: MarketService;
  audit: AuditLog;
  announcer: Announcer;
  /** A hedge whose perp leg the flatten closed is left `broken` with a critical alert: its spot leg is a person's call. */
  harvester: HarvesterState;
  alerts: AlertService;
  log: Logger;
  now: () => number;
  /** Edits the flatten's preview messages to its state (notices). */
  onUpdate?: (rec: FlattenRecord, legs: FlattenLeg[] | null) => Promise<void>;
  /** An order approval ended because a cancel leg cancelled its order: edit its preview. */
  onApprovalFinal?: (rec: ApprovalRecord) => Promise<void>;
  runnerTtlMs?: number;
}

export interface FlattenSweepReport {
  resumed: string[];
  expired: string[];
  errors: string[];
}

/** The exchange definitely refused: nothing was placed (or nothing was left to cancel). */
function refused(e: unknown): e is ExchangeError {
  if (!(e instanceof ExchangeError)) return false;
  if (e.kind === 'rejected' || e.kind === 'unknown_symbol') return true;
  return e.kind === 'http' && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const EPS = 1e-9;

export class FlattenExecutor {
  readonly #ttl: number;

  constructor(private readonly d: FlattenExecutorDeps) {
    this.#ttl = d.runnerTtlMs ?? FLATTEN_RUNNER_TTL_MS;
  }

  #cause(rec: FlattenRecord): Cause & { name: string } {
    return { actor: `PerpDesk flatten ${rec.id} (requested by ${rec.requester.displayName})`, platform: 'system', name: `flatten ${rec.id} (${rec.requester.displayName})` };
  }

  /**
   * Runs (or resumes) the flatten if it is approved or executing and no live runner holds it. Returns the record as
   * it stands after. Throws FlattenOutcomeUnknown when a leg's fate at the venue is unknown: the leg stays `sending`
   * and the next run (the job's retry, the sweep) looks it up before anything else.
   */
  async run(id: string): Promise<FlattenRecord | null> {
    let rec = await this.d.flattens.get(id);
    if (!rec || (rec.status !== 'approved' && rec.status !== 'executing')) return rec;
    const token = randomBytes(8).toString('hex');
    if (!(await this.d.flattens.claimRunner(id, token, this.d.now(), this.#ttl))) return rec;
    try {
      if (rec.status === 'approved') {
        const t = await this.d.flattens.transition(id, ['approved'], 'executing', this.d.now(), {
          action: 'flatten.executing', detail: `execution started: ${flattenWords(rec)}`, cause: SYSTEM,
        });
        const cur = t.ok ? t.record : t.current;
        if (!cur || cur.status !== 'executing') return cur;
        rec = cur;
      } else {
        await this.d.audit.append({ ts: this.d.now(), ...SYSTEM, action: 'flatten.resumed', subject: id, detail: `resuming an unfinished flatten (last change ${new Date(rec.updatedAt).toISOString()})` });
      }
      let legs = await this.d.flattens.legs(id);
      if (!legs) {
        legs = await this.d.flattens.planLegs(id, await this.#plan(rec));
        await this.d.audit.append({ ts: this.d.now(), ...SYSTEM, action: 'flatten.planned', subject: id, detail: `${legs.length} legs: ${legs.map((l) => `${l.index}:${l.kind} ${l.symbol}${l.status === 'skipped' ? ' (skipped)' : ''}`).join(', ')}` });
      }
      await this.d.onUpdate?.(rec, legs).catch((err: unknown) => this.d.log.warn({ err, flattenId: id }, 'could not show the flatten running'));
      for (const leg of legs) {
        if (leg.status === 'done' || leg.status === 'failed' || leg.status === 'skipped') continue;
        if (!(await this.d.flattens.touchRunner(id, token, this.d.now(), this.#ttl))) throw new FlattenOutcomeUnknown(`flatten ${id}: the runner claim lapsed; another run continues`);
        if (leg.kind === 'cancel') await this.#cancelLeg(rec, leg);
        else await this.#closeLeg(rec, leg);
      }
      return await this.#finish(rec);
    } finally {
      await this.d.flattens.releaseRunner(id, token).catch(() => undefined);
    }
  }

  /** Expires overdue previews and resumes flattens a crashed or failed run left approved or executing. */
  async sweep(): Promise<FlattenSweepReport> {
    const report: FlattenSweepReport = { resumed: [], expired: [], errors: [] };
    for (const id of await this.d.flattens.openIds()) {
      try {
        const rec = await this.d.flattens.get(id);
        if (!rec) continue;
        if (rec.status === 'pending') {
          if (rec.expiresAt > this.d.now()) continue;
          const t = await this.d.flattens.transition(id, ['pending'], 'expired', this.d.now(), {
            action: 'flatten.expired', detail: `not approved in time: ${flattenWords(rec)}`, cause: SYSTEM, endReason: `not approved before ${new Date(rec.expiresAt).toISOString()}`,
          });
          if (t.ok) {
            report.expired.push(id);
            await this.d.onUpdate?.(t.record, null).catch(() => undefined);
          }
          continue;
        }
        const after = await this.run(id);
        if (after && after.status !== rec.status) report.resumed.push(id);
      } catch (err) {
        report.errors.push(id);
        this.d.log.warn({ err: { message: message(err) }, flattenId: id }, 'could not resume flatten');
      }
    }
    return report;
  }

  /** Every resting order, then every position, as the venue shows them now; what the preview listed and is gone is a skipped leg. */
  async #plan(rec: FlattenRecord): Promise<FlattenLeg[]> {
    const [orders, positions] = await Promise.all([openOrders(this.d.exchange), this.d.exchange.positions()]);
    const legs: FlattenLeg[] = [];
    const own = `fl-${rec.id}-`;
    for (const o of orders) {
      if (o.clientOrderId.startsWith(own)) continue;
      legs.push({ index: legs.length, kind: 'cancel', symbol: o.symbol, orderId: o.orderId, clientOrderId: o.clientOrderId, status: 'planned' });
    }
    for (const c of rec.cancels) {
      if (orders.some((o) => o.orderId === c.orderId)) continue;
      legs.push({ index: legs.length, kind: 'cancel', symbol: c.symbol, orderId: c.orderId, clientOrderId: c.clientOrderId, status: 'skipped', note: 'no longer resting when the flatten ran (it filled or was cancelled since the preview)' });
    }
    const open = positions.filter((p) => p.size > 0);
    for (const p of open) {
      legs.push({ index: legs.length, kind: 'close', symbol: p.symbol, clientOrderId: legClientId(rec.id, legs.length), status: 'planned' });
    }
    for (const c of rec.closes) {
      if (open.some((p) => p.symbol === c.symbol)) continue;
      legs.push({
        index: legs.length, kind: 'close', symbol: c.symbol, clientOrderId: legClientId(rec.id, legs.length), status: 'skipped',
        positionSide: c.side, positionSize: c.size, note: `no position when the flatten ran: the ${c.side} ${c.size} of the preview was closed since`,
      });
    }
    return legs;
  }

  async #putLeg(rec: FlattenRecord, leg: FlattenLeg): Promise<FlattenLeg> {
    await this.d.flattens.putLeg(rec.id, leg);
    return leg;
  }

  /** Writes a leg's outcome and its audit entry (which names the client order id, so every venue order is audited). */
  async #ended(rec: FlattenRecord, leg: FlattenLeg): Promise<void> {
    await this.d.flattens.endLeg(rec.id, leg, {
      ts: this.d.now(), ...SYSTEM, action: leg.status === 'failed' ? 'flatten.leg_failed' : 'flatten.leg', subject: rec.id,
      detail: `leg ${leg.index} ${leg.kind} ${leg.symbol} ${leg.kind === 'cancel' ? `${leg.orderId ?? ''} (${leg.clientOrderId})` : leg.clientOrderId}: ${leg.status}, ${leg.note ?? ''}`,
    });
  }

  async #cancelLeg(rec: FlattenRecord, planned: FlattenLeg): Promise<void> {
    const leg = planned.status === 'sending' ? planned : await this.#putLeg(rec, { ...planned, status: 'sending' });
    let listed: Order | undefined;
    try {
      listed = (await this.d.exchange.listOrders({ clientOrderId: leg.clientOrderId })).find((o) => o.orderId === leg.orderId);
    } catch (e) {
      throw new FlattenOutcomeUnknown(`cannot look up ${leg.orderId}: ${message(e)}`);
    }
    if (!listed) return this.#ended(rec, { ...leg, status: 'failed', note: 'the exchange no longer lists this order' });
    if (!isOpenOrder(listed)) {
      // Cancelled by an earlier run of this flatten (or filled meanwhile): record it on the approval if still open.
      await this.#settleApproval(listed);
      return this.#ended(rec, { ...leg, status: 'done', filledQuantity: listed.filledQuantity, note: `no longer resting: ${listed.status}${listed.filledQuantity > 0 ? `, ${listed.filledQuantity} filled` : ''}` });
    }
    const r = await this.d.canceller.cancel(listed, this.#cause(rec), { reason: `flatten ${rec.id}`, owner: `flatten:${rec.id}` });
    switch (r.kind) {
      case 'canceled':
        if (r.approval) await this.d.onApprovalFinal?.(r.approval).catch(() => undefined);
        return this.#ended(rec, { ...leg, status: 'done', filledQuantity: r.order.filledQuantity, note: `cancelled${r.order.filledQuantity > 0 ? `; ${r.order.filledQuantity} of ${r.order.quantity} had filled before` : ''}` });
      case 'canceled_by_other':
        return this.#ended(rec, { ...leg, status: 'done', note: `cancelled by ${r.by} meanwhile` });
      case 'not_open':
        return this.#ended(rec, { ...leg, status: 'done', filledQuantity: r.order.filledQuantity, note: `no longer resting: ${r.order.status}${r.order.filledQuantity > 0 ? `, ${r.order.filledQuantity} filled` : ''}` });
      case 'in_progress':
        throw new FlattenOutcomeUnknown(`${leg.orderId} is being cancelled by ${r.by}; its answer has not arrived`);
      case 'unknown':
        throw new FlattenOutcomeUnknown(`no answer to the cancel of ${leg.orderId}: ${r.error}`);
    }
  }

  /** A PerpDesk order this flatten cancelled before a crash: its approval may still be `canceling`. */
  async #settleApproval(order: Order): Promise<void> {
    const approvalId = approvalIdOf(order.clientOrderId);
    if (!approvalId) return;
    const rec = await this.d.approvals.get(approvalId);
    if (rec?.status !== 'canceling') return;
    const after = await finishCanceling(this.d, rec, order);
    if (after && after.status !== rec.status) await this.d.onApprovalFinal?.(after).catch(() => undefined);
  }

  async #lookup(clientOrderId: string): Promise<Order | null> {
    try {
      const list = await this.d.exchange.listOrders({ clientOrderId });
      return list.find((o) => o.clientOrderId === clientOrderId) ?? null;
    } catch (e) {
      throw new FlattenOutcomeUnknown(`cannot look up ${clientOrderId}: ${message(e)}`);
    }
  }

  async #closeLeg(rec: FlattenRecord, leg: FlattenLeg): Promise<void> {
    // A leg that may have gone out: the venue's answer decides, never a second send.
    if (leg.status === 'sending') {
      const found = await this.#lookup(leg.clientOrderId);
      if (found) return this.#recordClose(rec, leg, found);
    }
    const [positions, instruments] = await Promise.all([this.d.exchange.positions(), this.d.market.instruments()]);
    const pos = positions.find((p) => p.symbol === leg.symbol && p.size > 0);
    if (!pos) return this.#ended(rec, { ...leg, status: 'skipped', note: 'no position left when the leg ran (closed since the flatten started)' });
    const inst = instruments.find((i) => i.symbol === leg.symbol);
    if (!inst) return this.#ended(rec, { ...leg, status: 'failed', note: `${leg.symbol} is not listed by the exchange` });
    const quantity = floorToStep(pos.size + EPS * inst.lotSize, inst.lotSize);
    if (!(quantity > 0)) return this.#ended(rec, { ...leg, status: 'failed', note: `the position (${pos.size}) is smaller than one lot and cannot be closed by order` });
    const side = pos.side === 'long' ? 'sell' : 'buy';
    const cascade = (await this.d.cascade.active(leg.symbol, this.d.now())) !== null;
    let price: number | null = null;
    if (cascade) {
      const mark = (await this.d.exchange.ticker(leg.symbol)).markPrice;
      // The far edge of the band, a hair inside so no check of |price / mark - 1| <= 0.5 % fails on float noise: it
      // fills like a market order while the price stays near, and its rest is cancelled at once (IOC).
      const band = CASCADE_MAX_SLIPPAGE * 0.99;
      price = side === 'buy' ? floorToStep(mark * (1 + band), inst.tickSize) : ceilToStep(mark * (1 - band), inst.tickSize);
    }
    const request: LegRequest = { side, orderType: price === null ? 'market' : 'limit', quantity, price, leverage: Math.max(1, Math.min(pos.leverage, inst.maxLeverage)) };
    const previewed = rec.closes.find((c) => c.symbol === leg.symbol);
    const changed = !previewed
      ? `opened after the preview: ${pos.side} ${pos.size}`
      : previewed.side !== pos.side || Math.abs(previewed.size - pos.size) > EPS
        ? `the position was ${previewed.side} ${previewed.size} at the preview and ${pos.side} ${pos.size} when the flatten ran`
        : '';
    const sending: FlattenLeg = { ...leg, status: 'sending', positionSide: pos.side, positionSize: pos.size, request, ...(changed ? { note: changed } : {}) };
    await this.#putLeg(rec, sending);
    let order: Order;
    try {
      order = await this.d.exchange.placeOrder({
        symbol: leg.symbol, side, orderType: request.orderType, quantity, ...(price === null ? {} : { price }),
        leverage: request.leverage, reduceOnly: true, timeInForce: 'ioc', clientOrderId: leg.clientOrderId,
      });
    } catch (e) {
      if (refused(e)) return this.#ended(rec, { ...sending, status: 'failed', note: `${changed ? `${changed}; ` : ''}refused by the exchange: ${message(e)}` });
      const found = await this.#lookup(leg.clientOrderId).catch(() => null);
      if (found) return this.#recordClose(rec, sending, found);
      this.d.log.warn({ flattenId: rec.id, leg: leg.index, error: message(e) }, 'flatten leg outcome unknown; will resume with the same client order id');
      throw new FlattenOutcomeUnknown(`leg ${leg.index} outcome unknown: ${message(e)}`);
    }
    return this.#recordClose(rec, sending, order);
  }

  async #recordClose(rec: FlattenRecord, leg: FlattenLeg, placed: Order): Promise<void> {
    let o = placed;
    if (isOpenOrder(o)) {
      // A venue that kept part of an immediate-or-cancel order: nothing of a flatten may rest unwatched.
      try {
        o = await this.d.exchange.cancelOrder(o.orderId);
      } catch (e) {
        if (!refused(e)) throw new FlattenOutcomeUnknown(`cannot cancel the rest of ${leg.clientOrderId}: ${message(e)}`);
        o = (await this.#lookup(leg.clientOrderId)) ?? o;
      }
      if (isOpenOrder(o)) throw new FlattenOutcomeUnknown(`${leg.clientOrderId} may still be resting after its cancel`);
    }
    const q = leg.request?.quantity ?? o.quantity;
    const at = o.avgPrice === null ? '' : ` at ${fmtPrice(o.avgPrice)}`;
    const prefix = leg.note && leg.status === 'sending' ? `${leg.note}; ` : '';
    const base = { ...leg, filledQuantity: o.filledQuantity, avgPrice: o.avgPrice };
    if (o.filledQuantity >= q - EPS) return this.#ended(rec, { ...base, status: 'done', note: `${prefix}filled ${o.filledQuantity}${at}` });
    const why = `${o.status}${o.rejectReason ? `: ${o.rejectReason}` : ''}`;
    if (o.filledQuantity > 0) {
      return this.#ended(rec, { ...base, status: 'failed', note: `${prefix}filled only ${o.filledQuantity} of ${q}${at} (${why}); ${Number((q - o.filledQuantity).toFixed(12))} is still open` });
    }
    return this.#ended(rec, { ...base, status: 'failed', note: `${prefix}did not fill (${why}); the position is still open` });
  }

  /**
   * The harvester's hedges in the symbols this flatten closed: the perp leg is gone (or smaller) and the spot leg
   * is not a position a flatten closes, so the hedge is recorded `broken` with what the venue holds, and a critical
   * alert asks a person to decide; the harvester leaves the symbol alone until `/harvester start`.
   */
  async #breakHedges(rec: FlattenRecord, legs: readonly FlattenLeg[]): Promise<void> {
    const symbols = [...new Set(legs.filter((l) => l.kind === 'close' && (l.filledQuantity ?? 0) > 0).map((l) => l.symbol))];
    if (!symbols.length) return;
    const positions = await this.d.exchange.positions();
    for (const symbol of symbols) {
      const h = await this.d.harvester.hedge(symbol);
      if (!h || h.status !== 'open') continue;
      const perp = positions.find((p) => p.symbol === symbol && p.side === h.perpSide)?.size ?? 0;
      const note = `flatten ${rec.id} closed the perp leg (${h.perpSide} ${h.perpQty} -> ${perp}); the spot leg of ${h.spotQty} ${h.spotSymbol} is still held`;
      await this.d.harvester.putHedge({ ...h, perpQty: perp, status: 'broken', note });
      await this.d.audit.append({ ts: this.d.now(), ...SYSTEM, action: 'harvester.hedge_broken', subject: symbol, detail: note });
      await this.d.alerts.publish({
        key: `flatten:${rec.id}:hedge:${symbol}`,
        kind: 'harvester',
        severity: 'critical',
        symbol,
        title: `Flatten left the ${symbol} hedge's spot leg open: decision needed`,
        text: `${note}. The harvester will not trade ${symbol} until a person decides: sell the spot (${h.spotSymbol}), then /harvester start.`,
        incident: `flatten:${rec.id}:hedge:${symbol}`,
        at: this.d.now(),
      });
    }
  }

  async #finish(rec: FlattenRecord): Promise<FlattenRecord | null> {
    const legs = (await this.d.flattens.legs(rec.id)) ?? [];
    await this.#breakHedges(rec, legs);
    const failed = legs.filter((l) => l.status === 'failed');
    const done = legs.filter((l) => l.status === 'done').length;
    const skipped = legs.filter((l) => l.status === 'skipped').length;
    const status = failed.length ? 'failed' : 'done';
    const summary = [
      `${done} of ${legs.length} legs done`,
      skipped ? `${skipped} had nothing left to do` : '',
      failed.length ? `${failed.length} failed (${failed.map((l) => `leg ${l.index + 1}`).join(', ')})` : '',
    ].filter(Boolean).join(', ');
    const report = await this.d.announcer.announce('order', flattenReport(rec, legs, status, summary), `flatten:${rec.id}`).catch((err: unknown) => {
      this.d.log.warn({ err, flattenId: rec.id }, 'flatten report not announced');
      return null;
    });
    for (const f of report?.failed ?? []) this.d.log.warn({ flattenId: rec.id, ...f.destination, error: f.error }, 'flatten report not delivered');
    const t = await this.d.flattens.transition(rec.id, ['executing'], status, this.d.now(), {
      action: status === 'done' ? 'flatten.done' : 'flatten.failed', detail: summary, cause: SYSTEM, result: summary,
    });
    const after = t.ok ? t.record : t.current;
    if (after && FLATTEN_FINAL.has(after.status)) {
      if (t.ok) this.d.log.info({ flattenId: rec.id, status, legs: legs.length, failed: failed.length }, 'flatten finished');
      await this.d.onUpdate?.(after, legs).catch((err: unknown) => this.d.log.warn({ err, flattenId: rec.id }, 'could not edit the flatten preview'));
    }
    return after;
  }
}
