/**
 * Executes an approved harvester plan: both legs with client order ids derived from the plan id (`hv-<plan>-0`,
 * `hv-<plan>-1`, the unwind `hv-<plan>-0u`), so a retry or a resumed run gets the first orders back instead of new
 * ones. Every leg ends final before the next step: what rests of a partly filled order is canceled and the cancel's
 * answer is what counts. The second leg is sized to what the first really filled; on entry, whatever the second
 * leg could not match is unwound from the first, so the legs differ by less than one lot. What cannot be brought
 * back to equal (an unwind that fails, an exit left half done) is kept as a `broken` hedge with the quantities the
 * venue holds and a critical alert asks a person to decide — never a silent naked position.
 *
 * Right before a plan runs, an entry is re-checked against /pause, a cascade in its symbol and stopped entries
 * (a blocked plan expires with the reason); during a cascade every leg is a limit order within 0.5 % of mark, never
 * a market order.
 */
import { ceilToStep, floorToStep } from '../../domain/numbers.js';
import { ExchangeError, type Exchange, type Order } from '../../exchange/port.js';
import type { Config } from '../../config/env.js';
import type { Logger } from '../../log.js';
import { TOUCH_ALLOWANCE } from '../orders/policy.js';
import { pct, qty } from '../../format.js';
import type { AlertService } from '../alerts/publish.js';
import type { AuditLog } from '../audit.js';
import type { CascadeState } from '../cascade-state.js';
import type { KillSwitch } from '../kill-switch.js';
import type { MarketService } from '../market.js';
import { expirePlan, planWords } from './plans.js';
import type { AuditEntry } from '../audit.js';
import type { HarvesterState, HedgeLeg, HedgePlan, PlanRecord, Unwind } from './state.js';

export interface HedgeExecutorDeps {
  /** The per-order notional cap an entry's first leg is re-sized to at the price it runs at. */
  config: Pick<Config, 'MAX_NOTIONAL_USD'>;
  exchange: Exchange;
  harvester: HarvesterState;
  audit: AuditLog;
  alerts: AlertService;
  killSwitch: KillSwitch;
  cascade: CascadeState;
  market: MarketService;
  log: Logger;
  now: () => number;
}

export function executorFor(ctx: HedgeExecutorDeps): HedgeExecutor {
  const { config, exchange, harvester, audit, alerts, killSwitch, cascade, market, log } = ctx;
  return new HedgeExecutor({ config, exchange, harvester, audit, alerts, killSwitch, cascade, market, log, now: () => ctx.now() });
}

/** An `executing` plan untouched this long was abandoned by a crashed run and may be resumed. */
export const RESUME_AFTER_MS = 60_000;

/** During a cascade a limit order must sit within this fraction of the market price (domain.md §7). */
export const CASCADE_LIMIT_BAND = 0.005;

export function legClientId(planId: string, leg: number, unwind = false): string {
  return `hv-${planId}-${leg}${unwind ? 'u' : ''}`;
}

/** The exchange definitely refused: nothing was placed (or, for a cancel, nothing was left to cancel). */
function refused(e: unknown): e is ExchangeError {
  if (!(e instanceof ExchangeError)) return false;
  if (e.kind === 'rejected' || e.kind === 'unknown_symbol') return true;
  return e.kind === 'http' && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
}

function isOpen(o: Order): boolean {
  return o.status === 'new' || o.status === 'partially_filled';
}

/** Quantities are sums and differences of lot multiples: drop the float noise (0.153 - 0.077 = 0.07600000000000001). */
function tidy(x: number): number {
  return Math.max(0, Number(x.toFixed(12)));
}

/** How an order ended, for a result or alert line. */
function outcome(o: Order): string {
  return `${o.status}${o.rejectReason ? `: ${o.rejectReason}` : ''}`;
}

export class OutcomeUnknownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeUnknownError';
  }
}

interface LegOptions {
  unwind?: boolean;
  /** Send as a limit order within CASCADE_LIMIT_BAND of the market price (the symbol is in cascade). */
  limit: boolean;
}

/** What each of the plan's legs finally filled, by market. */
interface Fills {
  perp: number;
  spot: number;
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
      // Approval may be minutes old (or from before a crash): the pause and the cascade are judged now.
      const blocked = await this.#blocked(rec.plan, now);
      if (blocked) return this.#expire(rec, blocked, 'approved');
      const t = await this.d.harvester.transition(id, ['approved'], 'executing', now, { audit: this.#entry(id, 'harvester.executing', `execution started: ${planWords(rec.plan)}`) });
      if (!t.ok) return t.record;
    } else if (!(rec.status === 'executing' && opts.resume && now - rec.updatedAt >= RESUME_AFTER_MS)) {
      return rec;
    } else if (!(await this.d.harvester.claimStale(id, now, now - RESUME_AFTER_MS))) {
      // Another resumer (or the original runner's heartbeat) got there first.
      return this.d.harvester.plan(id);
    } else {
      // A run that died before its first leg reached the venue left nothing to finish: judge it like a new one.
      // One whose first leg exists must finish (or unwind) it, paused or not, or that leg stays naked.
      const blocked = await this.#blocked(rec.plan, now);
      if (blocked && !(await this.#firstLegSent(rec.plan))) return this.#expire(rec, blocked, 'executing');
      await this.d.audit.append(this.#entry(id, 'harvester.resumed', `resuming an execution abandoned since ${new Date(rec.updatedAt).toISOString()}`));
      return this.#execute(rec.plan, true);
    }
    return this.#execute(rec.plan);
  }

  /** Why an entry may not start now (pause, cascade, stopped entries); exits and rebalances only reduce. */
  async #blocked(plan: HedgePlan, now: number): Promise<string | null> {
    if (plan.action !== 'enter') return null;
    const [pause, cascade, stopped] = await Promise.all([
      this.d.killSwitch.state(),
      this.d.cascade.active(plan.symbol, now),
      this.d.harvester.entryBlock(plan.symbol),
    ]);
    if (pause) return `trading is paused by ${pause.by} (${pause.reason})`;
    if (cascade) return `a liquidation cascade is running in ${plan.symbol}`;
    if (stopped) return `entries in ${plan.symbol} are stopped after ${stopped.failures} failed entries in a row (/harvester start allows them again)`;
    return null;
  }

  async #expire(rec: PlanRecord, why: string, from: 'approved' | 'executing'): Promise<PlanRecord | null> {
    const t = await expirePlan(this.d, rec, { kind: 'blocked', why, from: [from] });
    this.d.log.info({ planId: rec.plan.id, symbol: rec.plan.symbol, why }, 'harvester plan blocked before execution');
    return t.record ?? this.d.harvester.plan(rec.plan.id);
  }

  async #firstLegSent(plan: HedgePlan): Promise<boolean> {
    const found = await this.#lookup(plan, plan.legs[0]!, legClientId(plan.id, 0));
    return found !== null;
  }

  async #execute(plan: HedgePlan, resumed = false): Promise<PlanRecord | null> {
    const [first, second] = plan.legs as [HedgeLeg, HedgeLeg | undefined];
    const limit = (await this.d.cascade.active(plan.symbol, this.d.now())) !== null;
    let o0: Order;
    try {
      const q0 = plan.action === 'enter' ? await this.#cappedEntry(plan, first) : first.quantity;
      if (!(q0 > 0)) return this.#fail(plan, `at the current price one lot of ${plan.symbol} is above the notional cap (MAX_NOTIONAL_USD)`);
      o0 = await this.#leg(plan, first, 0, q0, { limit });
    } catch (e) {
      if (!refused(e)) throw this.#unknown(plan, e);
      return this.#fail(plan, `first leg refused by the exchange: ${e.message}`);
    }
    const f0 = o0.filledQuantity;
    if (!(f0 > 0)) return this.#fail(plan, `first leg did not fill (${outcome(o0)})`);
    if (!second) return this.#settle(plan, this.#fills([[first, f0]]));
    // A run that died while unwinding finishes the unwind; re-sending the second leg would hedge a closed leg.
    const unwinding = await this.d.harvester.unwinding(plan.id);
    if (unwinding !== null) return this.#unwind(plan, first, f0, { ...unwinding, quantity: unwinding.quantity ?? f0 }, limit);
    if (resumed && plan.action === 'enter' && first.market === 'perp') {
      // While the run lay dead its perp leg may have been closed (a /flatten): hedging it now would buy a naked spot.
      const held = await this.#perpHeld(plan);
      const lot = await this.#lot(plan);
      if (held < f0 - lot / 2) {
        const why = `the perp leg (${f0}) was closed outside the plan while it lay unfinished (e.g. by /flatten); the venue holds ${held}`;
        if (held <= lot / 2) return this.#fail(plan, `${why}: nothing was hedged and nothing is left to unwind`);
        return this.#broken(plan, why, { perp: held, spot: 0 });
      }
    }

    const q1 = this.#secondQuantity(plan, first, second, f0);
    let f1 = 0;
    let why = '';
    if (q1 > 0) {
      try {
        const o1 = await this.#leg(plan, second, 1, q1, { limit });
        f1 = o1.filledQuantity;
        if (!(f1 > 0)) why = `did not fill (${outcome(o1)})`;
        else if (f1 < q1 * (1 - 1e-9)) why = `filled only ${f1} of ${q1}`;
      } catch (e) {
        if (!refused(e)) throw this.#unknown(plan, e);
        why = `refused by the exchange: ${e.message}`;
      }
    }
    if (plan.action !== 'enter') return this.#settle(plan, this.#fills([[first, f0], [second, f1]]), why ? `the second leg ${why}` : '');
    if (!(f1 > 0)) return this.#unwind(plan, first, f0, { why: `second leg ${why}`, quantity: f0, secondFilled: 0 }, limit);
    // The first leg keeps what the second matched; the rest of it (whole lots) goes back.
    const excess = floorToStep(tidy(f0 - f1), await this.#lot(plan));
    if (excess > 0) return this.#unwind(plan, first, f0, { why: `second leg ${why}`, quantity: excess, secondFilled: f1 }, limit);
    return this.#settle(plan, this.#fills([[first, f0], [second, f1]]));
  }

  /**
   * Equal base quantity: an entry's second leg buys what the first really filled; an exit's second leg closes as
   * much more as the first did, so whatever the first left open stays hedged by as much of the second.
   */
  #secondQuantity(plan: HedgePlan, first: HedgeLeg, second: HedgeLeg, f0: number): number {
    if (plan.action === 'enter') return tidy(Math.min(second.quantity, f0));
    return tidy(second.quantity - (first.quantity - f0));
  }

  #fills(legs: [HedgeLeg, number][]): Fills {
    const f: Fills = { perp: 0, spot: 0 };
    for (const [leg, filled] of legs) f[leg.market] += filled;
    return f;
  }

  /** Places a leg and brings it to a final state: what rests of it is canceled, and the cancel says what filled. */
  async #leg(plan: HedgePlan, leg: HedgeLeg, i: number, quantity: number, o: LegOptions): Promise<Order> {
    const placed = await this.#place(plan, leg, i, quantity, o);
    return isOpen(placed) ? this.#cancelRest(plan, leg, legClientId(plan.id, i, o.unwind), placed) : placed;
  }

  async #place(plan: HedgePlan, leg: HedgeLeg, i: number, quantity: number, opts: LegOptions): Promise<Order> {
    const clientOrderId = legClientId(plan.id, i, opts.unwind);
    const price = opts.limit ? await this.#limitPrice(plan, leg) : undefined;
    const orderType = price === undefined ? 'market' : 'limit';
    await this.d.harvester.touch(plan.id, this.d.now());
    const o =
      leg.market === 'perp'
        ? await this.d.exchange.placeOrder({
            symbol: leg.symbol,
            side: leg.side,
            orderType,
            quantity,
            ...(price === undefined ? {} : { price }),
            leverage: plan.leverage,
            reduceOnly: leg.reduceOnly,
            // What a market leg does not fill at once must not fill later at a price nobody checked (after a crash
            // nobody is left to cancel it): immediate-or-cancel. A limit leg's price bounds its rest.
            ...(orderType === 'market' ? { timeInForce: 'ioc' as const } : {}),
            clientOrderId,
          })
        : await this.d.exchange.placeSpotOrder({ symbol: leg.symbol, side: leg.side, orderType, quantity, ...(price === undefined ? {} : { price }), clientOrderId });
    await this.d.audit.append(this.#entry(plan.id, opts.unwind ? 'harvester.unwind' : 'harvester.leg',
      `${plan.action} ${leg.market} ${leg.side} ${quantity} ${leg.symbol}${price === undefined ? '' : ` limit ${price}`}${leg.reduceOnly ? ' reduce-only' : ''} as ${clientOrderId}: ${o.status}, filled ${o.filledQuantity} at ${o.avgPrice ?? '—'}`));
    return o;
  }

  /**
   * The limit a leg may carry during a cascade: the far edge of the band around the perp's mark (the rule is stated
   * against mark, and a hedge's spot trades at the index the mark tracks), so it fills like a market order while the
   * price stays near and rests (then is canceled) when it has run away. Buys round down and sells up to the tick,
   * staying inside the band; the spot leg uses the perp's tick, which venues list as a multiple of the spot tick.
   */
  async #limitPrice(plan: HedgePlan, leg: HedgeLeg): Promise<number> {
    const [mark, inst] = await Promise.all([this.d.exchange.ticker(plan.symbol).then((t) => t.markPrice), this.#instrument(plan)]);
    // A hair inside the edge, so no check of the band (|price / mark - 1| <= 0.5 %) fails on float noise.
    const band = CASCADE_LIMIT_BAND * 0.99;
    return leg.side === 'buy' ? floorToStep(mark * (1 + band), inst.tickSize) : ceilToStep(mark * (1 - band), inst.tickSize);
  }

  async #instrument(plan: HedgePlan) {
    const inst = (await this.d.market.instruments()).find((i) => i.symbol === plan.symbol);
    if (!inst) throw new OutcomeUnknownError(`instrument ${plan.symbol} is not listed by the exchange`);
    return inst;
  }

  /**
   * An entry was sized at the notional cap when it was planned and may run minutes later (a proposal waits for its
   * click, a run resumes after a crash): its first leg is re-sized to the cap at the worst price either leg can fill at
   * now, the orders' own rule (mark or spot plus the touch allowance). Never larger than planned. A re-sent leg keeps
   * its client order id, so one already at the venue is returned as it is.
   */
  async #cappedEntry(plan: HedgePlan, first: HedgeLeg): Promise<number> {
    const [t, s, inst] = await Promise.all([
      this.d.exchange.ticker(plan.symbol),
      this.d.exchange.spotTicker(plan.spotSymbol),
      this.#instrument(plan),
    ]);
    const worst = Math.max(t.markPrice, s.lastPrice) * (1 + TOUCH_ALLOWANCE);
    return Math.min(first.quantity, floorToStep(this.d.config.MAX_NOTIONAL_USD / worst, inst.lotSize));
  }

  /** The venue's perp position on the hedge's side, in its symbol. */
  async #perpHeld(plan: HedgePlan): Promise<number> {
    try {
      return (await this.d.exchange.positions()).find((p) => p.symbol === plan.symbol && p.side === plan.perpSide)?.size ?? 0;
    } catch (e) {
      throw this.#unknown(plan, e);
    }
  }

  async #lot(plan: HedgePlan): Promise<number> {
    return (await this.#instrument(plan)).lotSize;
  }

  async #cancelRest(plan: HedgePlan, leg: HedgeLeg, clientOrderId: string, o: Order): Promise<Order> {
    let c: Order | null;
    try {
      c = await (leg.market === 'perp' ? this.d.exchange.cancelOrder(o.orderId) : this.d.exchange.cancelSpotOrder(o.orderId));
    } catch (e) {
      // Refused: nothing was left open (it filled or ended meanwhile); its listing says how it ended.
      if (!refused(e)) throw this.#unknown(plan, e);
      c = await this.#lookup(plan, leg, clientOrderId);
    }
    if (!c || isOpen(c)) throw this.#unknown(plan, new Error(`${clientOrderId} may still be resting after its cancel`));
    await this.d.audit.append(this.#entry(plan.id, 'harvester.cancel', `${plan.action} ${leg.market} ${leg.side} ${leg.symbol} as ${clientOrderId}: the rest of ${o.quantity} canceled, ${c.status}, filled ${c.filledQuantity}`));
    return c;
  }

  async #lookup(plan: HedgePlan, leg: HedgeLeg, clientOrderId: string): Promise<Order | null> {
    try {
      const list = await (leg.market === 'perp' ? this.d.exchange.listOrders({ clientOrderId }) : this.d.exchange.listSpotOrders({ clientOrderId }));
      return list.find((o) => o.clientOrderId === clientOrderId) ?? null;
    } catch (e) {
      throw this.#unknown(plan, e);
    }
  }

  /**
   * Sends `u.quantity` of the first leg back, recorded first so a resumed run finishes it. All of it back: the plan
   * failed cleanly. Part of it (the excess over what the second leg matched): the hedge stands, smaller. An unwind
   * that falls short leaves a broken hedge with what the venue holds.
   */
  async #unwind(plan: HedgePlan, first: HedgeLeg, f0: number, u: Unwind, limit: boolean): Promise<PlanRecord | null> {
    const undo: HedgeLeg = { ...first, side: first.side === 'buy' ? 'sell' : 'buy', reduceOnly: first.market === 'perp' };
    await this.d.harvester.markUnwinding(plan.id, u, this.d.now());
    const second = plan.legs[1]!;
    let back: number;
    try {
      back = (await this.#leg(plan, undo, 0, u.quantity, { unwind: true, limit })).filledQuantity;
    } catch (e) {
      if (!refused(e)) throw this.#unknown(plan, e);
      const left = this.#fills([[first, f0], [second, u.secondFilled]]);
      return this.#broken(plan, `${u.why}; unwinding the first leg failed: ${e.message}`, left);
    }
    const left = this.#fills([[first, tidy(f0 - back)], [second, u.secondFilled]]);
    if (back < u.quantity * (1 - 1e-9)) {
      return this.#broken(plan, `${u.why}; unwinding the first leg filled only ${back} of ${u.quantity}`, left);
    }
    if (!(u.secondFilled > 0)) return this.#fail(plan, `${u.why}; the first leg (${first.market} ${first.side} ${f0}) was unwound`);
    return this.#settle(plan, left, `${u.why}; ${back} of the first leg was unwound to match`);
  }

  #unknown(plan: HedgePlan, e: unknown): OutcomeUnknownError {
    if (e instanceof OutcomeUnknownError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    this.d.log.warn({ planId: plan.id, error: msg }, 'harvester leg outcome unknown; will resume with the same client order ids');
    return new OutcomeUnknownError(`leg outcome unknown: ${msg}`);
  }

  /** Applies what the legs filled to the hedge record; `note` says what differed from the plan. */
  async #settle(plan: HedgePlan, fills: Fills, note = ''): Promise<PlanRecord | null> {
    const now = this.d.now();
    if (plan.action === 'enter') {
      // The perp leg may have been closed while the plan was in flight (a /flatten ran between a crash and its
      // resume): a hedge recorded with a perp leg the venue no longer holds would hide a naked spot leg.
      const held = await this.#perpHeld(plan);
      const lot = await this.#lot(plan);
      if (held < fills.perp - lot / 2) {
        return this.#broken(plan, `the venue holds ${plan.perpSide} perp ${held} of the ${tidy(fills.perp)} the entry filled (closed outside the plan, e.g. by /flatten)`, { perp: held, spot: tidy(fills.spot) });
      }
      await this.d.harvester.putHedge({
        symbol: plan.symbol,
        spotSymbol: plan.spotSymbol,
        perpSide: plan.perpSide,
        perpQty: tidy(fills.perp),
        spotQty: tidy(fills.spot),
        openedAt: now,
        entryAnnRate: plan.annRate,
        planId: plan.id,
        status: 'open',
      });
      await this.d.harvester.entrySucceeded(plan.symbol);
    } else if (plan.action === 'exit') {
      // Both legs must be flat before the hedge is forgotten; anything left is a position someone must own.
      const left = { perp: 0, spot: 0 };
      for (const leg of plan.legs) left[leg.market] += leg.quantity;
      left.perp = tidy(left.perp - fills.perp);
      left.spot = tidy(left.spot - fills.spot);
      if (left.perp > 0 || left.spot > 0) return this.#broken(plan, `the exit closed only part of the hedge${note ? `: ${note}` : ''}`, left);
      await this.d.harvester.dropHedge(plan.symbol);
    } else {
      const h = await this.d.harvester.hedge(plan.symbol);
      // The hedge names the last plan applied to it: a run resumed after this write must not subtract twice.
      if (h && h.planId !== plan.id) {
        await this.d.harvester.putHedge({ ...h, planId: plan.id, perpQty: tidy(h.perpQty - fills.perp), spotQty: tidy(h.spotQty - fills.spot) });
      }
    }
    const legsText = plan.legs.map((l) => `${l.market} ${l.side} ${fills[l.market]} ${l.symbol}`).join('; ');
    const result = note ? `${legsText} (${note})` : legsText;
    const t = await this.d.harvester.transition(plan.id, ['executing'], 'executed', now, { result, audit: this.#entry(plan.id, 'harvester.executed', result) });
    await this.d.alerts.publish({
      key: `harvester:${plan.id}:executed`,
      kind: 'harvester',
      severity: 'success',
      filterSeverity: 'warning',
      symbol: plan.symbol,
      title: `Harvester ${plan.action === 'enter' ? 'entry' : plan.action === 'exit' ? 'exit' : 'rebalance'} done — ${plan.symbol}`,
      text: note ? `${plan.reason}\n${note}` : plan.reason,
      fields: [
        ...plan.legs.map((l) => ({ name: `${l.market === 'perp' ? 'Perp' : 'Spot'} leg`, value: `${l.side} ${qty(fills[l.market])} ${l.symbol}`, inline: true })),
        { name: 'Funding rate', value: `${pct(plan.annRate)} APR`, inline: true },
      ],
      incident: `harvester:${plan.id}`,
      at: now,
    });
    return t.record;
  }

  /** Nothing of the hedge changed at the venue (or all of it was undone): the plan failed, the hedge is as before. */
  async #fail(plan: HedgePlan, why: string): Promise<PlanRecord | null> {
    const now = this.d.now();
    const t = await this.d.harvester.transition(plan.id, ['executing'], 'failed', now, { result: why, audit: this.#entry(plan.id, 'harvester.failed', why) });
    await this.d.alerts.publish({
      key: `harvester:${plan.id}:failed`,
      kind: 'harvester',
      severity: 'warning',
      symbol: plan.symbol,
      title: `Harvester ${plan.action} failed — ${plan.symbol}`,
      text: why,
      fields: this.#legFields(plan),
      incident: `harvester:${plan.id}`,
      at: now,
    });
    if (plan.action === 'enter') await this.#entryFailed(plan, why);
    return t.record;
  }

  /** The legs no longer match and the executor cannot fix it: record what the venue holds and ask a person. */
  async #broken(plan: HedgePlan, why: string, held: Fills): Promise<PlanRecord | null> {
    const now = this.d.now();
    const prior = await this.d.harvester.hedge(plan.symbol);
    await this.d.harvester.putHedge({
      symbol: plan.symbol,
      spotSymbol: plan.spotSymbol,
      perpSide: plan.perpSide,
      perpQty: held.perp,
      spotQty: held.spot,
      openedAt: prior?.openedAt ?? now,
      entryAnnRate: prior?.entryAnnRate ?? plan.annRate,
      planId: plan.id,
      status: 'broken',
      note: why,
    });
    this.d.log.error({ planId: plan.id, symbol: plan.symbol, perp: held.perp, spot: held.spot }, 'harvester hedge left unbalanced; decision needed');
    const lot = (await this.d.market.instruments().catch(() => [])).find((i) => i.symbol === plan.symbol)?.lotSize;
    await this.d.alerts.publish({
      key: `harvester:${plan.id}:broken`,
      kind: 'harvester',
      severity: 'critical',
      symbol: plan.symbol,
      title: `Harvester leg failed — ${plan.symbol}: decision needed`,
      text: `${why}. The venue holds ${plan.perpSide} perp ${qty(held.perp, lot)} / spot ${qty(held.spot)} ${plan.spotSymbol} of this hedge. The harvester will not trade ${plan.symbol} until a person decides: close the open leg (/close ${plan.symbol} for the perp) or complete the hedge, then /harvester start.`,
      fields: this.#legFields(plan),
      incident: `harvester:${plan.id}`,
      at: now,
    });
    // Final only once the alert is out: a process that dies before this leaves the plan executing, and the run that
    // resumes it raises the alert (de-duplicated by its key) before the plan ends.
    const t = await this.d.harvester.transition(plan.id, ['executing'], 'failed', now, { result: why, audit: this.#entry(plan.id, 'harvester.failed', `hedge broken, perp ${held.perp} / spot ${held.spot} held: ${why}`) });
    if (plan.action === 'enter') await this.#entryFailed(plan, why);
    return t.record;
  }

  /** Each failed entry pays fees; after a few in a row the symbol is not entered again until a person says so. */
  async #entryFailed(plan: HedgePlan, why: string): Promise<void> {
    const now = this.d.now();
    const block = await this.d.harvester.entryFailed(plan.symbol, plan.id, why, now);
    if (!block) return;
    this.d.log.error({ symbol: plan.symbol, failures: block.failures }, 'harvester stopped entering a symbol after repeated failures');
    await this.d.audit.append(this.#entry(plan.symbol, 'harvester.entries_stopped', `${block.failures} entries in a row failed; last (${plan.id}): ${why}`));
    await this.d.alerts.publish({
      key: `harvester:entries-stopped:${plan.symbol}:${block.since}`,
      kind: 'harvester',
      severity: 'critical',
      symbol: plan.symbol,
      title: `Harvester stopped entering ${plan.symbol}`,
      text: `${block.failures} entries in a row failed, each paying fees; the last: ${why}. The harvester will not enter ${plan.symbol} again until an admin runs /harvester start.`,
      fields: [{ name: 'Funding rate', value: `${pct(plan.annRate)} APR`, inline: true }],
      incident: `harvester:entries-stopped:${plan.symbol}:${block.since}`,
      at: now,
    });
  }

  /** An audit entry of the executor's own (a status transition carries it in the same atomic step). */
  #entry(subject: string, action: string, detail: string): AuditEntry {
    return { ts: this.d.now(), actor: 'PerpDesk harvester', platform: 'system', action, subject, detail };
  }

  #legFields(plan: HedgePlan): { name: string; value: string; inline?: boolean }[] {
    return [
      ...plan.legs.map((l, i) => ({ name: `Leg ${i + 1} (${l.market})`, value: `${l.side} ${qty(l.quantity)} ${l.symbol}${l.reduceOnly ? ' reduce-only' : ''}`, inline: true })),
      { name: 'Funding rate', value: `${pct(plan.annRate)} APR`, inline: true },
    ];
  }
}
