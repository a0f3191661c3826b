/**
 * Places approved orders exactly once and reconciles after a crash. The exchange's idempotency key is
 * `client_order_id = pd-<approvalId>`: a retried job, a second worker or a restart reuses it, and the exchange
 * answers with the first order instead of opening a second one. Every state change is persisted (with its audit
 * entry) before the next side effect.
 */
import type { Config } from '../../config/env.js';
import { ExchangeError, type Exchange, type Order, type PlaceOrderRequest } from '../../exchange/port.js';
import type { Logger } from '../../log.js';
import { planWords, SYSTEM, type ApprovalStore } from '../approvals/store.js';
import type { ApprovalRecord, ApprovalStatus, OrderResult } from '../approvals/types.js';
import type { CascadeState } from '../cascade-state.js';
import type { KillSwitch } from '../kill-switch.js';
import { orderBlocker, type Blocker } from './guards.js';
import { CANCEL_CLAIM_MS, finishCanceling } from './cancel.js';
import { ordersFailedTotal, ordersPlacedTotal, ordersRefusedTotal } from '../../metrics/registry.js';

export function clientOrderIdFor(approvalId: string): string {
  return `pd-${approvalId}`;
}

/** The outcome at the exchange is unknown (timeout, network): retry later with the same client_order_id. */
export class RetryableOrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryableOrderError';
  }
}

export interface OrderExecutorDeps {
  approvals: ApprovalStore;
  exchange: Exchange;
  killSwitch: KillSwitch;
  cascade: CascadeState;
  config: Pick<Config, 'MAX_LEVERAGE' | 'MAX_NOTIONAL_USD'>;
  log: Logger;
  now: () => number;
  /** Runs once per approval when it reaches a final state (filled, failed, expired): edit messages, alert. */
  onFinal?: (rec: ApprovalRecord) => Promise<void>;
  /** Runs when a limit order was accepted and rests on the book (not final yet). */
  onAccepted?: (rec: ApprovalRecord) => Promise<void>;
}

export interface ReconcileReport {
  recorded: string[];
  enqueued: string[];
  expired: string[];
  errors: string[];
}

export function orderRequest(rec: ApprovalRecord): PlaceOrderRequest {
  const p = rec.plan;
  const req: PlaceOrderRequest = {
    symbol: p.symbol,
    side: p.side,
    orderType: p.orderType,
    quantity: p.quantity,
    leverage: p.leverage,
    reduceOnly: p.reduceOnly,
    clientOrderId: clientOrderIdFor(rec.id),
  };
  if (p.orderType === 'limit' && p.price !== null) req.price = p.price;
  // A market order fills now or not at all: a rest the venue kept would fill later at a price no check has seen
  // (above the notional cap after a rise). Limit orders rest by design: their price bounds the fill.
  if (p.orderType === 'market') req.timeInForce = 'ioc';
  return req;
}

/** A refusal by the exchange is final; anything else (timeout, 5xx, 429, garbled answer) leaves the outcome unknown. */
function isDefinitive(e: unknown): e is ExchangeError {
  if (!(e instanceof ExchangeError)) return false;
  if (e.kind === 'rejected' || e.kind === 'unknown_symbol') return true;
  return e.kind === 'http' && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
}

function resultOf(o: Order): OrderResult {
  const r: OrderResult = { orderId: o.orderId, status: o.status, filledQuantity: o.filledQuantity, avgPrice: o.avgPrice };
  if (o.rejectReason !== undefined) r.rejectReason = o.rejectReason;
  return r;
}

/** Why an approved order ended failed, for `perpdesk_orders_failed_total`. */
type FailureReason = 'refused_at_send' | 'exchange_refused' | 'exchange_rejected' | 'exchange_canceled' | 'vanished';

export class OrderExecutor {
  constructor(private readonly d: OrderExecutorDeps) {}

  /**
   * The job body: moves an `approved` approval to `submitted` (after every check, with a fresh ticker), sends it,
   * and records the exchange's answer. Safe to run any number of times for the same approval: a run that finds it
   * `submitted` but unknown to the exchange (an earlier POST that never arrived) runs every check again before it
   * sends, because pause, prices, cascades and caps may have changed since.
   */
  async execute(approvalId: string): Promise<ApprovalRecord | null> {
    let rec = await this.d.approvals.get(approvalId);
    if (!rec) {
      this.d.log.warn({ approvalId }, 'order job for an unknown approval');
      return null;
    }
    let checked = false;
    if (rec.status === 'approved') {
      const blocker = await orderBlocker(rec.plan, this.d);
      if (blocker) return this.#refuse(rec, 'approved', 'not sent', blocker);
      checked = true;
      const t = await this.d.approvals.transition(rec.id, ['approved'], 'submitted', this.d.now(), {
        action: 'order.submitted',
        detail: `sending ${planWords(rec)} as ${clientOrderIdFor(rec.id)}`,
        cause: SYSTEM,
      });
      if (!t.ok) return t.current?.status === 'submitted' ? this.execute(approvalId) : t.current;
      rec = t.record;
    }
    if (rec.status !== 'submitted') return rec;

    // An earlier run may have reached the exchange before dying: look first, never send twice.
    const existing = await this.#lookup(rec);
    if (existing) return this.#record(rec, existing);
    if (rec.result) {
      return this.#fail(rec, 'submitted', `order ${rec.result.orderId} is no longer listed by the exchange`, undefined, 'vanished');
    }
    if (!checked) {
      const blocker = await orderBlocker(rec.plan, this.d);
      if (blocker) return this.#refuse(rec, 'submitted', 'not sent again after an attempt that did not reach the exchange', blocker);
    }
    let order: Order;
    try {
      order = await this.d.exchange.placeOrder(orderRequest(rec));
    } catch (e) {
      if (isDefinitive(e)) return this.#fail(rec, 'submitted', `the exchange refused the order: ${e.message}`, undefined, 'exchange_refused');
      // Timeout or network error: the order may or may not exist. Look; if absent, retry with the same id.
      const found = await this.#lookup(rec).catch(() => null);
      if (found) return this.#record(rec, found);
      const msg = e instanceof Error ? e.message : String(e);
      this.d.log.warn({ approvalId: rec.id, error: msg }, 'order placement outcome unknown; will retry');
      throw new RetryableOrderError(`placement outcome unknown: ${msg}`);
    }
    this.d.log.info({ approvalId: rec.id, orderId: order.orderId, status: order.status }, 'order placed');
    return this.#record(rec, order);
  }

  /**
   * Start-up (and periodic) reconciliation of every open approval with the exchange, by client_order_id:
   * found → record the result; not found and approved/submitted → enqueue the job again (the same job id and the
   * same client_order_id keep it single); pending past its deadline → expired.
   */
  async reconcile(enqueue: (approvalId: string) => Promise<void>): Promise<ReconcileReport> {
    const report: ReconcileReport = { recorded: [], enqueued: [], expired: [], errors: [] };
    for (const id of await this.d.approvals.openIds()) {
      try {
        let rec = await this.d.approvals.get(id);
        if (!rec) continue;
        if (rec.status === 'pending') {
          if (rec.expiresAt > this.d.now()) continue;
          const t = await this.d.approvals.expire(rec, this.d.now());
          if (t.ok) {
            report.expired.push(id);
            await this.#final(t.record);
          }
          continue;
        }
        if (rec.status === 'canceling') {
          // A cancel from chat that a crash interrupted (one still running is left to finish by itself).
          if (this.d.now() - rec.updatedAt < CANCEL_CLAIM_MS) continue;
          const order = await this.#lookup(rec);
          const after = order
            ? await finishCanceling(this.d, rec, order)
            : await this.#fail(rec, 'canceling', `order ${rec.result?.orderId ?? clientOrderIdFor(id)} is no longer listed by the exchange`, undefined, 'vanished');
          if (after && after.status !== rec.status) {
            report.recorded.push(id);
            if (order) await this.#final(after);
          }
          continue;
        }
        if (rec.status !== 'approved' && rec.status !== 'submitted') continue;
        const found = await this.#lookup(rec);
        if (!found) {
          if (rec.result) await this.execute(id); // a resting order that vanished: execute records the failure
          else {
            await enqueue(id);
            report.enqueued.push(id);
          }
          continue;
        }
        if (rec.status === 'approved') {
          const t = await this.d.approvals.transition(id, ['approved'], 'submitted', this.d.now(), {
            action: 'order.submitted',
            detail: `found on the exchange as ${clientOrderIdFor(id)} during reconciliation`,
            cause: SYSTEM,
          });
          rec = t.ok ? t.record : t.current;
          if (!rec || rec.status !== 'submitted') continue;
        }
        const after = await this.#record(rec, found);
        if (after && after.status !== rec.status) report.recorded.push(id);
      } catch (err) {
        report.errors.push(id);
        this.d.log.warn({ err, approvalId: id }, 'could not reconcile approval');
      }
    }
    return report;
  }

  async #lookup(rec: ApprovalRecord): Promise<Order | null> {
    const cid = clientOrderIdFor(rec.id);
    const list = await this.d.exchange.listOrders({ clientOrderId: cid });
    return list.find((o) => o.clientOrderId === cid) ?? null;
  }

  async #record(rec: ApprovalRecord, order: Order): Promise<ApprovalRecord | null> {
    const result = resultOf(order);
    if (order.status === 'filled' || ((order.status === 'canceled' || order.status === 'rejected') && order.filledQuantity > 0)) {
      const t = await this.d.approvals.transition(rec.id, ['submitted'], 'filled', this.d.now(), {
        action: 'order.filled',
        detail: `${order.orderId} filled ${order.filledQuantity} at ${order.avgPrice ?? 'unknown'}: ${planWords(rec)}`,
        cause: SYSTEM,
        result,
      });
      if (!t.ok) return t.current;
      this.#countPlaced(rec);
      await this.#final(t.record);
      return t.record;
    }
    if (order.status === 'canceled' || order.status === 'rejected') {
      const why = order.rejectReason ? `${order.status} by the exchange (${order.rejectReason})` : `${order.status} by the exchange`;
      return this.#fail(rec, 'submitted', why, result, order.status === 'canceled' ? 'exchange_canceled' : 'exchange_rejected');
    }
    // Accepted and resting (new / partially filled): not final; note it once per change.
    if (rec.result && rec.result.status === result.status && rec.result.filledQuantity === result.filledQuantity) return rec;
    const t = await this.d.approvals.transition(rec.id, ['submitted'], 'submitted', this.d.now(), {
      action: 'order.accepted',
      detail: `${order.orderId} ${order.status} (filled ${order.filledQuantity}): ${planWords(rec)}`,
      cause: SYSTEM,
      result,
    });
    if (!t.ok) return t.current;
    this.#countPlaced(rec);
    await this.d.onAccepted?.(t.record).catch((err: unknown) => this.d.log.warn({ err, approvalId: rec.id }, 'onAccepted failed'));
    return t.record;
  }

  /** The first answer recorded for the order (filled, or resting on the book), however it was learnt. */
  #countPlaced(before: ApprovalRecord): void {
    if (!before.result) ordersPlacedTotal.inc({ kind: before.plan.kind });
  }

  /** A check turned the order down right before a send: it ends failed, with the check's words. */
  #refuse(rec: ApprovalRecord, from: ApprovalStatus, what: string, blocker: Blocker): Promise<ApprovalRecord | null> {
    ordersRefusedTotal.inc({ stage: 'send', reason: blocker.reason });
    return this.#fail(rec, from, `${what}: ${blocker.text}`, undefined, 'refused_at_send');
  }

  async #fail(rec: ApprovalRecord, from: ApprovalStatus, reason: string, result: OrderResult | undefined, code: FailureReason): Promise<ApprovalRecord | null> {
    const t = await this.d.approvals.transition(rec.id, [from], 'failed', this.d.now(), {
      action: 'order.failed',
      detail: `${reason}: ${planWords(rec)}`,
      cause: SYSTEM,
      reason,
      ...(result ? { result } : {}),
    });
    if (!t.ok) return t.current;
    ordersFailedTotal.inc({ reason: code });
    this.d.log.warn({ approvalId: rec.id, reason }, 'order failed');
    await this.#final(t.record);
    return t.record;
  }

  async #final(rec: ApprovalRecord): Promise<void> {
    try {
      await this.d.onFinal?.(rec);
    } catch (err) {
      this.d.log.warn({ err, approvalId: rec.id }, 'onFinal failed');
    }
  }
}
