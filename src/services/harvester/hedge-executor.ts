/**
 * Executes an approved harvester plan: both legs as market orders with client order ids derived from the plan id
 * (`hv-<plan>-0`, `hv-<plan>-1`), so a retry or a resumed run gets the first orders back instead of new ones. The
 * second leg is sized to what the first actually filled, so the legs match. If the second leg fails on entry the
 * first is unwound; if that fails too, or an exit is left half done, the hedge is marked broken and a critical alert
 * asks a person to decide — never a silent naked position.
 */
import { ExchangeError, type Exchange, type Order } from '../../exchange/port.js';
import type { Logger } from '../../log.js';
import { pct, qty } from '../../format.js';
import type { AlertService } from '../alerts/publish.js';
import type { AuditLog } from '../audit.js';
import type { HarvesterState, HedgeLeg, HedgePlan, PlanRecord } from './state.js';

export interface HedgeExecutorDeps {
  exchange: Exchange;
  harvester: HarvesterState;
  audit: AuditLog;
  alerts: AlertService;
  log: Logger;
  now: () => number;
}

/** An `executing` plan untouched this long was abandoned by a crashed run and may be resumed. */
export const RESUME_AFTER_MS = 60_000;

export function legClientId(planId: string, leg: number, unwind = false): string {
  return `hv-${planId}-${leg}${unwind ? 'u' : ''}`;
}

/** The exchange definitely refused: nothing was placed. Anything else leaves the outcome unknown. */
function refused(e: unknown): e is ExchangeError {
  if (!(e instanceof ExchangeError)) return false;
  if (e.kind === 'rejected' || e.kind === 'unknown_symbol') return true;
  return e.kind === 'http' && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
}

export class OutcomeUnknownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeUnknownError';
  }
}

export class HedgeExecutor {
  constructor(private readonly d: HedgeExecutorDeps) {}

  /**
   * Runs the plan if it is `approved` (or `executing` and abandoned, with `resume`). Returns the final record, or
   * the current one when another runner owns it. Throws OutcomeUnknownError when an order's fate is unknown
   * (timeout): the plan stays `executing` and a later resume re-sends the same client order ids.
   */
  async run(id: string, opts: { resume?: boolean } = {}): Promise<PlanRecord | null> {
    const rec = await this.d.harvester.plan(id);
    if (!rec) return null;
    const now = this.d.now();
    if (rec.status === 'approved') {
      const t = await this.d.harvester.transition(id, ['approved'], 'executing', now);
      if (!t.ok) return t.record;
    } else if (!(rec.status === 'executing' && opts.resume && now - rec.updatedAt >= RESUME_AFTER_MS)) {
      return rec;
    } else if (!(await this.d.harvester.claimStale(id, now, now - RESUME_AFTER_MS))) {
      // Another resumer (or the original runner's heartbeat) got there first.
      return this.d.harvester.plan(id);
    }
    return this.#execute(rec.plan);
  }

  async #execute(plan: HedgePlan): Promise<PlanRecord | null> {
    const [first, second] = plan.legs as [HedgeLeg, HedgeLeg | undefined];
    let o0: Order;
    try {
      o0 = await this.#place(plan, first, 0, first.quantity);
    } catch (e) {
      if (!refused(e)) throw this.#unknown(plan, e);
      return this.#fail(plan, `first leg refused by the exchange: ${e.message}`, 'warning');
    }
    if (!(o0.filledQuantity > 0) && (o0.status === 'new' || o0.status === 'partially_filled')) {
      // A resting leg may still fill: until a cancel is confirmed its fate is unknown, and the cancel's answer
      // says what filled before it.
      try {
        o0 = await this.d.exchange.cancelOrder(o0.orderId);
      } catch (e) {
        throw this.#unknown(plan, e);
      }
    }
    if (!(o0.filledQuantity > 0)) {
      return this.#fail(plan, `first leg did not fill (${o0.status}${o0.rejectReason ? `: ${o0.rejectReason}` : ''})`, 'warning');
    }
    if (!second) return this.#done(plan, [o0]);
    // A run that died while unwinding finishes the unwind; re-sending the second leg would hedge a closed leg.
    const unwinding = await this.d.harvester.unwinding(plan.id);
    if (unwinding !== null) return this.#secondLegFailed(plan, first, o0, unwinding);

    // Equal base quantity: an entry's second leg follows what the first really filled.
    const q1 = plan.action === 'enter' ? Math.min(second.quantity, o0.filledQuantity) : second.quantity;
    let o1: Order | null = null;
    let why = '';
    try {
      o1 = await this.#place(plan, second, 1, q1);
      if (!(o1.filledQuantity > 0)) why = `did not fill (${o1.status}${o1.rejectReason ? `: ${o1.rejectReason}` : ''})`;
    } catch (e) {
      if (!refused(e)) throw this.#unknown(plan, e);
      why = `refused by the exchange: ${e.message}`;
    }
    if (o1 && o1.filledQuantity > 0) return this.#done(plan, [o0, o1]);
    return this.#secondLegFailed(plan, first, o0, why);
  }

  async #place(plan: HedgePlan, leg: HedgeLeg, i: number, quantity: number, unwind = false): Promise<Order> {
    const clientOrderId = legClientId(plan.id, i, unwind);
    await this.d.harvester.touch(plan.id, this.d.now());
    const o =
      leg.market === 'perp'
        ? await this.d.exchange.placeOrder({
            symbol: leg.symbol,
            side: leg.side,
            orderType: 'market',
            quantity,
            leverage: plan.leverage,
            reduceOnly: leg.reduceOnly,
            clientOrderId,
          })
        : await this.d.exchange.placeSpotOrder({ symbol: leg.symbol, side: leg.side, orderType: 'market', quantity, clientOrderId });
    await this.d.audit.append({
      ts: this.d.now(),
      actor: 'PerpDesk harvester',
      platform: 'system',
      action: unwind ? 'harvester.unwind' : 'harvester.leg',
      subject: plan.id,
      detail: `${plan.action} ${leg.market} ${leg.side} ${quantity} ${leg.symbol}${leg.reduceOnly ? ' reduce-only' : ''} as ${clientOrderId}: ${o.status}, filled ${o.filledQuantity} at ${o.avgPrice ?? '—'}`,
    });
    return o;
  }

  async #secondLegFailed(plan: HedgePlan, first: HedgeLeg, o0: Order, why: string): Promise<PlanRecord | null> {
    if (plan.action === 'exit') {
      // Unwinding a close would reopen the hedge's other leg: a person decides instead.
      return this.#broken(plan, `the ${first.market} leg closed but the second leg ${why}; the position is no longer hedged`, o0);
    }
    const undo: HedgeLeg = { ...first, side: first.side === 'buy' ? 'sell' : 'buy', reduceOnly: first.market === 'perp' };
    await this.d.harvester.markUnwinding(plan.id, why, this.d.now());
    try {
      const u = await this.#place(plan, undo, 0, o0.filledQuantity, true);
      if (u.filledQuantity >= o0.filledQuantity * (1 - 1e-9)) {
        return this.#fail(plan, `second leg ${why}; the first leg (${first.market} ${first.side} ${o0.filledQuantity}) was unwound`, 'warning');
      }
      return this.#broken(plan, `second leg ${why}; unwinding the first leg filled only ${u.filledQuantity} of ${o0.filledQuantity}`, o0);
    } catch (e) {
      return this.#broken(plan, `second leg ${why}; unwinding the first leg failed: ${e instanceof Error ? e.message : String(e)}`, o0);
    }
  }

  #unknown(plan: HedgePlan, e: unknown): OutcomeUnknownError {
    const msg = e instanceof Error ? e.message : String(e);
    this.d.log.warn({ planId: plan.id, error: msg }, 'harvester leg outcome unknown; will resume with the same client order ids');
    return new OutcomeUnknownError(`leg outcome unknown: ${msg}`);
  }

  async #done(plan: HedgePlan, orders: Order[]): Promise<PlanRecord | null> {
    const now = this.d.now();
    const [o0, o1] = orders;
    const perp = orders.find((_, i) => plan.legs[i]?.market === 'perp');
    const spot = orders.find((_, i) => plan.legs[i]?.market === 'spot');
    if (plan.action === 'enter') {
      await this.d.harvester.putHedge({
        symbol: plan.symbol,
        spotSymbol: plan.spotSymbol,
        perpSide: plan.perpSide,
        perpQty: perp?.filledQuantity ?? 0,
        spotQty: spot?.filledQuantity ?? 0,
        openedAt: now,
        entryAnnRate: plan.annRate,
        planId: plan.id,
        status: 'open',
      });
    } else if (plan.action === 'exit') {
      await this.d.harvester.dropHedge(plan.symbol);
    } else {
      const h = await this.d.harvester.hedge(plan.symbol);
      // The hedge names the last plan applied to it: a run resumed after this write must not subtract twice.
      if (h && h.planId !== plan.id) {
        const leg = plan.legs[0]!;
        const filled = o0?.filledQuantity ?? 0;
        await this.d.harvester.putHedge(
          leg.market === 'perp'
            ? { ...h, planId: plan.id, perpQty: Math.max(0, h.perpQty - filled) }
            : { ...h, planId: plan.id, spotQty: Math.max(0, h.spotQty - filled) },
        );
      }
    }
    const legsText = orders.map((o, i) => `${plan.legs[i]!.market} ${o.side} ${o.filledQuantity} ${o.symbol} at ${o.avgPrice ?? '—'}`).join('; ');
    const t = await this.d.harvester.transition(plan.id, ['executing'], 'executed', now, { result: legsText });
    await this.d.alerts.publish({
      key: `harvester:${plan.id}:executed`,
      kind: 'harvester',
      severity: 'success',
      filterSeverity: 'warning',
      symbol: plan.symbol,
      title: `Harvester ${plan.action === 'enter' ? 'entry' : plan.action === 'exit' ? 'exit' : 'rebalance'} done — ${plan.symbol}`,
      text: plan.reason,
      fields: [
        ...orders.map((o, i) => ({ name: `${plan.legs[i]!.market === 'perp' ? 'Perp' : 'Spot'} leg`, value: `${o.side} ${qty(o.filledQuantity)} ${o.symbol} at ${o.avgPrice ?? '—'}`, inline: true })),
        { name: 'Funding rate', value: `${pct(plan.annRate)} APR`, inline: true },
      ],
      incident: `harvester:${plan.id}`,
      at: now,
    });
    if (o1 && o0 && Math.abs(o1.filledQuantity - o0.filledQuantity) > 1e-12) {
      this.d.log.warn({ planId: plan.id, first: o0.filledQuantity, second: o1.filledQuantity }, 'hedge legs filled unequal quantities; the next run rebalances');
    }
    return t.record;
  }

  async #fail(plan: HedgePlan, why: string, severity: 'warning' | 'critical'): Promise<PlanRecord | null> {
    const now = this.d.now();
    const t = await this.d.harvester.transition(plan.id, ['executing'], 'failed', now, { result: why });
    await this.d.alerts.publish({
      key: `harvester:${plan.id}:failed`,
      kind: 'harvester',
      severity,
      symbol: plan.symbol,
      title: `Harvester ${plan.action} failed — ${plan.symbol}`,
      text: why,
      fields: this.#legFields(plan),
      incident: `harvester:${plan.id}`,
      at: now,
    });
    return t.record;
  }

  async #broken(plan: HedgePlan, why: string, o0: Order): Promise<PlanRecord | null> {
    const now = this.d.now();
    const prior = await this.d.harvester.hedge(plan.symbol);
    await this.d.harvester.putHedge({
      symbol: plan.symbol,
      spotSymbol: plan.spotSymbol,
      perpSide: plan.perpSide,
      perpQty: prior?.perpQty ?? 0,
      spotQty: prior?.spotQty ?? 0,
      openedAt: prior?.openedAt ?? now,
      entryAnnRate: prior?.entryAnnRate ?? plan.annRate,
      planId: plan.id,
      status: 'broken',
      note: why,
    });
    const t = await this.d.harvester.transition(plan.id, ['executing'], 'failed', now, { result: why });
    this.d.log.error({ planId: plan.id, symbol: plan.symbol, orderId: o0.orderId }, 'harvester hedge left unbalanced; decision needed');
    await this.d.alerts.publish({
      key: `harvester:${plan.id}:broken`,
      kind: 'harvester',
      severity: 'critical',
      symbol: plan.symbol,
      title: `Harvester leg failed — ${plan.symbol}: decision needed`,
      text: `${why}. The harvester will not trade ${plan.symbol} until a person decides: close the open leg (/close ${plan.symbol} for the perp) or complete the hedge, then /harvester start.`,
      fields: this.#legFields(plan),
      incident: `harvester:${plan.id}`,
      at: now,
    });
    return t.record;
  }

  #legFields(plan: HedgePlan): { name: string; value: string; inline?: boolean }[] {
    return [
      ...plan.legs.map((l, i) => ({ name: `Leg ${i + 1} (${l.market})`, value: `${l.side} ${qty(l.quantity)} ${l.symbol}${l.reduceOnly ? ' reduce-only' : ''}`, inline: true })),
      { name: 'Funding rate', value: `${pct(plan.annRate)} APR`, inline: true },
    ];
  }
}
