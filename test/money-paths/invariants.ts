/**
 * The money-path invariants (issue 12), checked by an observer that reads Redis on its own connection (never through
 * a desk process) and the venue's own books:
 * - I1 every order at the venue maps to exactly one approved approval or hedge plan; none twice (and no second
 *   hedge entry stacked on an open hedge);
 * - I2 nothing that opens or adds exposure reached the venue while paused, no market order in a symbol in cascade,
 *   no fill above a cap at its fill price (notional per order, leverage per order);
 * - I3 after each harvester run, every hedge's perp and spot quantities at the venue differ by at most one lot, or
 *   the hedge is `broken` and a critical alert was published;
 * - I4 every approval and plan is final or resumable, and each transition has its audit entry;
 * - I5 after reconcile the desk's records match the venue's positions;
 * - I6 flattens: no leg placed twice (one venue order per flatten and symbol, each a planned close leg), a flatten
 *   ends in exactly one final state and stays there, and no position is left open after a completed flatten unless
 *   a leg reports failure (or an order in that symbol arrived after the leg's).
 * I1 and the first two parts of I2 are checked at the instant an order reaches the venue; the fill caps after every
 * step; I3 after every harvester run; I4 after every restart and at the end; I5 at the end, after the settle phase
 * has lifted every fault and let the desk reconcile (crash-points.test.ts: after a crash at every Redis command).
 *
 * "Adds exposure" means the order raises the absolute net delta of its base (perp position plus spot balance, as the
 * venue holds them when it arrives): a hedge's second leg or an unwind reduces it, and a reduce-only perp order never
 * counts (a pause must not trap a position). Cascades are per perp symbol, so the market-order rule covers perp
 * orders. The notional cap is judged on orders that add exposure, at their average fill price.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config/env.js';
import type { Order } from '../../src/exchange/port.js';
import { AuditEntry } from '../../src/services/audit.js';
import { ApprovalStore } from '../../src/services/approvals/store.js';
import { AuditLog } from '../../src/services/audit.js';
import { CascadeState } from '../../src/services/cascade-state.js';
import { HarvesterState, type PlanRecord } from '../../src/services/harvester/state.js';
import { KillSwitch } from '../../src/services/kill-switch.js';
import type { ApprovalRecord } from '../../src/services/approvals/types.js';
import { FlattenStore } from '../../src/services/flatten/store.js';
import { FLATTEN_FINAL, type FlattenRecord } from '../../src/services/flatten/types.js';
import type { Arrival, FaultVenue } from './venue.js';
import { ownView, type Published } from './desk.js';

export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6';

export interface Violation {
  id: InvariantId;
  /** Stable short name of what broke, for tallies across schedules. */
  kind: string;
  detail: string;
  step: number;
}

/** Hedged symbols the checker follows (the harvester trades BTC; people trade ETH, so books never mix). */
export const HEDGED = [{ symbol: 'BTC-PERP', spot: 'BTC-USD', base: 'BTC', lot: 0.001 }] as const;
const EPS = 1e-9;

const APPROVAL_FINAL = new Set(['filled', 'failed', 'canceled', 'rejected', 'expired']);
const PLAN_FINAL = new Set(['executed', 'failed', 'rejected', 'expired']);

export class Observer {
  readonly violations: Violation[] = [];
  step = 0;
  private readonly store: { redis: Redis; prefix: string };
  private readonly killSwitch: KillSwitch;
  private readonly cascade: CascadeState;
  private readonly approvals: ApprovalStore;
  private readonly harvester: HarvesterState;
  private readonly audit: AuditLog;
  private readonly flattens: FlattenStore;
  /** Final status of each flatten when first seen final: it must never change. */
  readonly flattenFinal = new Map<string, string>();
  /** Approvals seen `canceled` at the last records check (cancels that reached the venue). */
  canceled = 0;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly venue: FaultVenue,
    private readonly config: Pick<Config, 'MAX_NOTIONAL_USD' | 'MAX_LEVERAGE'>,
    private readonly published: Published[],
    private readonly now: () => number,
  ) {
    this.store = { redis: ownView(redis), prefix };
    this.killSwitch = new KillSwitch(this.store);
    this.cascade = new CascadeState(this.store);
    this.audit = new AuditLog(this.store);
    this.approvals = new ApprovalStore(this.store, this.audit);
    this.harvester = new HarvesterState(this.store);
    this.flattens = new FlattenStore(this.store, this.audit);
    venue.onArrival = (a) => this.arrival(a);
  }

  private flag(id: InvariantId, kind: string, detail: string): void {
    this.violations.push({ id, kind, detail, step: this.step });
  }

  /** Each order's filled quantity when a flatten leg arrived: what else moved the symbol after it. */
  private readonly legSnapshots = new Map<string, Map<string, number>>();

  private fills(): Map<string, number> {
    return new Map(this.venue.orders().map((o) => [o.orderId, o.filledQuantity]));
  }

  /** I1 and I2 at the instant an order reaches the venue. */
  async arrival(a: Arrival): Promise<void> {
    const req = a.request;
    const cid = req.clientOrderId;
    if (cid.startsWith('fl-')) this.legSnapshots.set(cid, this.fills());
    const perpSymbol = a.market === 'perp' ? req.symbol : `${req.symbol.replace(/-USD$/, '')}-PERP`;
    const reduceOnly = a.market === 'perp' && (req as { reduceOnly: boolean }).reduceOnly;
    const [pause, cascade] = await Promise.all([this.killSwitch.state(), this.cascade.active(perpSymbol, this.now())]);
    const parent = await this.parentOf(cid);
    if (parent.kind === 'none') this.flag('I1', 'order-without-approval', `${cid} reached the venue: ${parent.why}`);

    const signed = (req.side === 'buy' ? 1 : -1) * req.quantity;
    const before = a.perpBefore + a.spotBefore;
    const adds = !reduceOnly && Math.abs(before + signed) > Math.abs(before) + EPS;
    if (adds) this.opening.add(cid);
    if (pause && adds) {
      this.flag('I2', 'exposure-while-paused', `${cid} ${a.market} ${req.side} ${req.quantity} ${req.symbol} reached the venue while paused (delta ${before} -> ${before + signed})`);
    }
    if (cascade && a.market === 'perp' && req.orderType === 'market') {
      this.flag('I2', 'market-order-in-cascade', `${cid} market ${req.side} ${req.quantity} ${req.symbol} reached the venue during a cascade`);
    }
    if (a.market === 'perp' && !reduceOnly) {
      const lev = (req as { leverage: number }).leverage;
      if (lev > this.config.MAX_LEVERAGE + EPS) this.flag('I2', 'leverage-above-cap', `${cid} at ${lev}x`);
      // The account leverage cap (risk monitor's measure: perp notional at mark over equity) holds for exposure added.
      const added = (Math.abs(a.perpBefore + signed) - Math.abs(a.perpBefore)) * a.mark;
      const after = a.equityBefore > 0 ? (a.notionalBefore + added) / a.equityBefore : Infinity;
      if (added > EPS && after > this.config.MAX_LEVERAGE * (1 + 1e-9)) {
        this.flag('I2', 'account-leverage-above-cap', `${cid} ${req.side} ${req.quantity} ${req.symbol} takes account leverage to ${after.toFixed(2)}x (cap ${this.config.MAX_LEVERAGE}x)`);
      }
    }
    if (parent.kind === 'plan' && parent.rec.plan.action === 'enter' && parent.leg === 0 && !parent.unwind) {
      const h = await this.harvester.hedge(parent.rec.plan.symbol);
      if (h) this.flag('I1', 'second-hedge-entry', `${cid} enters ${parent.rec.plan.symbol} while hedge ${h.planId} (${h.status}) is open`);
    }
  }

  private async parentOf(cid: string): Promise<
    | { kind: 'approval'; rec: ApprovalRecord }
    | { kind: 'plan'; rec: PlanRecord; leg: number; unwind: boolean }
    | { kind: 'flatten'; rec: FlattenRecord }
    | { kind: 'none'; why: string }
  > {
    const pd = /^pd-(.+)$/.exec(cid);
    if (pd) {
      const rec = await this.approvals.get(pd[1]!);
      if (!rec) return { kind: 'none', why: 'no approval record' };
      if (rec.status !== 'submitted') return { kind: 'none', why: `approval is ${rec.status}, not submitted` };
      if (rec.approvers.length < rec.required) return { kind: 'none', why: `${rec.approvers.length} of ${rec.required} approvals` };
      return { kind: 'approval', rec };
    }
    const hv = /^hv-([a-z0-9]+)-(\d)(u?)$/.exec(cid);
    if (hv) {
      const rec = await this.harvester.plan(hv[1]!);
      if (!rec) return { kind: 'none', why: 'no plan record' };
      if (rec.status !== 'executing') return { kind: 'none', why: `plan is ${rec.status}, not executing` };
      if (rec.mode === 'propose' && rec.approvers.length < rec.required) return { kind: 'none', why: 'proposal not approved' };
      return { kind: 'plan', rec, leg: Number(hv[2]), unwind: hv[3] === 'u' };
    }
    const fl = /^fl-([a-z0-9]+)-(\d+)$/.exec(cid);
    if (fl) {
      const rec = await this.flattens.get(fl[1]!);
      if (!rec) return { kind: 'none', why: 'no flatten record' };
      if (rec.status !== 'executing') return { kind: 'none', why: `flatten is ${rec.status}, not executing` };
      if (rec.approvers.length < rec.required) return { kind: 'none', why: `flatten has ${rec.approvers.length} of ${rec.required} approvals` };
      const leg = (await this.flattens.legs(rec.id))?.find((l) => l.clientOrderId === cid);
      if (!leg || leg.kind !== 'close') return { kind: 'none', why: 'not a planned close leg of its flatten' };
      return { kind: 'flatten', rec };
    }
    return { kind: 'none', why: 'client order id of no desk component' };
  }

  private async allFlattens(): Promise<FlattenRecord[]> {
    return (await Promise.all((await this.ids('flatten')).map((id) => this.flattens.get(id)))).filter((r): r is FlattenRecord => r !== null);
  }

  /**
   * I6 after every step: a flatten's legs at the venue (one order per symbol, each a planned close leg), a final state
   * that never changes, and no position left behind by a flatten that completed.
   */
  async afterFlattens(): Promise<void> {
    const orders = this.venue.orders().filter((o) => o.clientOrderId.startsWith('fl-'));
    for (const rec of await this.allFlattens()) {
      const mine = orders.filter((o) => o.clientOrderId.startsWith(`fl-${rec.id}-`));
      const perSymbol = new Map<string, number>();
      for (const o of mine) perSymbol.set(o.symbol, (perSymbol.get(o.symbol) ?? 0) + 1);
      for (const [sym, n] of perSymbol) if (n > 1) this.flag('I6', 'flatten-leg-placed-twice', `flatten ${rec.id} has ${n} orders in ${sym} at the venue`);
      const before = this.flattenFinal.get(rec.id);
      if (before !== undefined && before !== rec.status) this.flag('I6', 'flatten-final-changed', `flatten ${rec.id} was ${before}, now ${rec.status}`);
      if (!FLATTEN_FINAL.has(rec.status) || before !== undefined) continue;
      this.flattenFinal.set(rec.id, rec.status);
      if (rec.status !== 'done') continue;
      const legs = (await this.flattens.legs(rec.id)) ?? [];
      for (const l of legs) {
        if (l.kind !== 'close' || l.status !== 'done') continue;
        const left = this.venue.perpSize(l.symbol);
        if (Math.abs(left) <= EPS) continue;
        // Another order in the symbol that filled after the leg arrived (an order placed meanwhile, a resting order
        // the market reached) moved it legitimately; otherwise the leg must have left it flat.
        const snap = this.legSnapshots.get(l.clientOrderId) ?? new Map<string, number>();
        const later = this.venue.orders().some((o) => o.symbol === l.symbol && !o.clientOrderId.startsWith(`fl-${rec.id}-`) && Math.abs((snap.get(o.orderId) ?? 0) - o.filledQuantity) > EPS);
        if (!later) this.flag('I6', 'position-left-after-flatten', `flatten ${rec.id} is done but ${l.symbol} still holds ${left} (leg ${l.index}: ${l.note ?? ''})`);
      }
    }
  }

  /** Orders that added net exposure in their base when they arrived (the second leg of a hedge takes it away). */
  private readonly opening = new Set<string>();

  /** I2, fills: no order that opens exposure filled above the notional cap at its own fill price. */
  checkFills(): void {
    for (const o of this.venue.orders()) {
      if (!this.opening.has(o.clientOrderId) || !(o.filledQuantity > 0) || o.avgPrice === null) continue;
      const notional = o.filledQuantity * o.avgPrice;
      if (notional > this.config.MAX_NOTIONAL_USD * (1 + EPS) && !this.seenCap.has(o.orderId)) {
        this.seenCap.add(o.orderId);
        this.flag('I2', 'fill-above-notional-cap', `${o.clientOrderId} filled ${o.filledQuantity} ${o.symbol} at ${o.avgPrice} = $${notional.toFixed(2)} > $${this.config.MAX_NOTIONAL_USD}`);
      }
    }
  }

  private readonly seenCap = new Set<string>();

  /** The plan holding the symbol's open slot, when it is not final. */
  private async openPlan(symbol: string): Promise<PlanRecord | null> {
    const id = await this.store.redis.get(`${this.prefix}:harvester:open:${symbol}`);
    const rec = id ? await this.harvester.plan(id) : null;
    return rec && !PLAN_FINAL.has(rec.status) ? rec : null;
  }

  private criticalAlertFor(symbol: string): boolean {
    return this.published.some((p) => p.input.severity === 'critical' && p.input.symbol === symbol);
  }

  /** I3, after a harvester run. */
  async afterHarvest(): Promise<void> {
    for (const s of HEDGED) {
      const open = await this.openPlan(s.symbol);
      // A plan in flight (approved or executing) is resumable; its legs are judged once it is done.
      if (open && (open.status === 'approved' || open.status === 'executing')) continue;
      const perp = Math.abs(this.venue.perpSize(s.symbol));
      const spot = this.venue.spotBalance(s.base);
      const h = await this.harvester.hedge(s.symbol);
      if (h?.status === 'broken') {
        if (!this.criticalAlertFor(s.symbol)) this.flag('I3', 'broken-without-critical-alert', `${s.symbol} hedge is broken (${h.note ?? ''}) and no critical alert was published`);
        continue;
      }
      if (!h) {
        if (perp > EPS || spot > EPS) this.flag('I3', 'exposure-without-hedge', `${s.symbol}: venue holds perp ${perp} / spot ${spot} ${s.base} and the desk has no hedge record`);
        continue;
      }
      // A proposal waiting for people (propose mode) is how the harvester asks to fix drift it cannot fix alone.
      if (open && open.status === 'pending' && open.plan.action !== 'enter') continue;
      if (Math.abs(perp - spot) > s.lot + EPS) {
        this.flag('I3', 'hedge-legs-unequal', `${s.symbol} hedge ${h.planId}: venue perp ${perp} vs spot ${spot} (record ${h.perpQty} / ${h.spotQty}), not broken`);
      }
    }
  }

  private async entries(): Promise<AuditEntry[]> {
    const rows = await this.store.redis.xrange(this.audit.streamKey, '-', '+');
    const out: AuditEntry[] = [];
    for (const [, f] of rows) {
      const p = AuditEntry.safeParse(JSON.parse(f[f.indexOf('e') + 1] ?? 'null'));
      if (p.success) out.push(p.data);
    }
    return out;
  }

  private async ids(pattern: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.store.redis.scan(cursor, 'MATCH', `${this.prefix}:${pattern}:*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const rest = k.slice(`${this.prefix}:${pattern}:`.length);
        if (!rest.includes(':')) out.push(rest);
      }
    } while (cursor !== '0');
    return out;
  }

  /**
   * I4: final or resumable, each transition audited, and (`venueOrders`, once the desk has settled) each venue order
   * audited: a leg's entry is written when its answer arrives, so right after a crash the resumed run still owes it.
   */
  async checkRecords(venueOrders = true): Promise<{ approvals: ApprovalRecord[]; plans: PlanRecord[] }> {
    const audit = await this.entries();
    const bySubject = new Map<string, Set<string>>();
    for (const e of audit) {
      let s = bySubject.get(e.subject);
      if (!s) bySubject.set(e.subject, (s = new Set()));
      s.add(e.action);
    }
    const has = (id: string, action: string) => bySubject.get(id)?.has(action) ?? false;
    const approvals = (await Promise.all((await this.ids('approval')).map((id) => this.approvals.get(id)))).filter((r): r is ApprovalRecord => r !== null);
    const openIndex = new Set(await this.store.redis.zrange(`${this.prefix}:approvals:open`, '0', '-1'));
    this.canceled = approvals.filter((r) => r.status === 'canceled').length;
    for (const r of approvals) {
      if (!APPROVAL_FINAL.has(r.status) && !openIndex.has(r.id)) this.flag('I4', 'approval-not-resumable', `${r.id} is ${r.status} but not in the open index`);
      const need = ['order.requested'];
      if (['approved', 'submitted', 'filled', 'failed'].includes(r.status)) need.push('order.approved');
      if (['submitted', 'filled'].includes(r.status)) need.push('order.submitted');
      if (r.status === 'filled') need.push('order.filled');
      if (r.status === 'canceling' || r.status === 'canceled') need.push('order.approved', 'order.submitted', 'order.cancel_requested');
      if (r.status === 'canceled') need.push('order.canceled');
      if (r.status === 'failed') need.push('order.failed');
      if (r.status === 'rejected') need.push('order.rejected');
      if (r.status === 'expired') need.push('order.expired');
      for (const a of need) if (!has(r.id, a)) this.flag('I4', `approval-missing-${a}`, `${r.id} is ${r.status} without an ${a} audit entry`);
    }
    const plans = (await Promise.all((await this.ids('harvester:plan')).map((id) => this.harvester.plan(id)))).filter((r): r is PlanRecord => r !== null);
    for (const p of plans) {
      const id = p.plan.id;
      if (!PLAN_FINAL.has(p.status)) {
        const slot = await this.store.redis.get(`${this.prefix}:harvester:open:${p.plan.symbol}`);
        if (slot !== id) this.flag('I4', 'plan-not-resumable', `plan ${id} (${p.plan.action} ${p.plan.symbol}) is ${p.status} but does not hold the symbol's open slot (${slot ?? 'empty'})`);
      }
      const decided = p.mode === 'auto' ? has(id, 'harvester.auto_approved') : has(id, 'harvester.approved');
      if (p.mode === 'propose' && !has(id, 'harvester.proposed')) this.flag('I4', 'plan-missing-proposed', `plan ${id} is ${p.status} without a harvester.proposed entry`);
      if (['approved', 'executing', 'executed', 'failed'].includes(p.status) && !decided) {
        this.flag('I4', 'plan-missing-approval-entry', `plan ${id} (${p.mode}) is ${p.status} without its approval audit entry`);
      }
      if (p.status === 'rejected' && !has(id, 'harvester.rejected')) this.flag('I4', 'plan-missing-rejected', `plan ${id} rejected without an entry`);
      if (p.status === 'expired' && !has(id, 'harvester.expired')) this.flag('I4', 'plan-missing-expired', `plan ${id} expired without an entry`);
    }
    const openFlattens = new Set(await this.store.redis.zrange(`${this.prefix}:flattens:open`, '0', '-1'));
    for (const f of await this.allFlattens()) {
      if (!FLATTEN_FINAL.has(f.status) && !openFlattens.has(f.id)) this.flag('I4', 'flatten-not-resumable', `flatten ${f.id} is ${f.status} but not in the open index`);
      const need = ['flatten.requested'];
      if (f.status !== 'pending' && f.status !== 'rejected' && f.status !== 'expired') need.push('flatten.approved');
      if (f.status === 'done' || f.status === 'failed') need.push('flatten.executing');
      for (const a of need) if (!has(f.id, a)) this.flag('I4', `flatten-missing-${a}`, `flatten ${f.id} is ${f.status} without a ${a} audit entry`);
      if (FLATTEN_FINAL.has(f.status)) {
        const finals = audit.filter((e) => e.subject === f.id && ['flatten.done', 'flatten.failed', 'flatten.rejected', 'flatten.expired'].includes(e.action));
        if (finals.length !== 1 || finals[0]!.action !== `flatten.${f.status}`) {
          this.flag('I6', 'flatten-final-entries', `flatten ${f.id} is ${f.status} with final entries ${finals.map((e) => e.action).join(', ') || 'none'}`);
        }
      } else if (venueOrders && (f.status === 'approved' || f.status === 'executing')) {
        // Settled: faults lifted, claims lapsed, the sweep ran: an approved flatten must have finished.
        this.flag('I6', 'flatten-not-finished', `flatten ${f.id} is still ${f.status} after the settle phase`);
      }
    }
    // Every order at the venue has the audit entry of the step that sent it.
    const details = venueOrders ? audit.map((e) => e.detail).join('\n') : '';
    for (const o of venueOrders ? this.venue.orders() : []) {
      // Orders placed outside PerpDesk (the venue's own screen, `ext-` in the schedules) are not the desk's to audit.
      if (o.clientOrderId.startsWith('ext-')) continue;
      if (!details.includes(o.clientOrderId)) this.flag('I4', 'venue-order-not-audited', `${o.clientOrderId} (${o.status}) is at the venue but no audit entry names it`);
    }
    return { approvals, plans };
  }

  /** I5, after the settle phase's reconcile: the desk's records match the venue. */
  async checkBooks(approvals: ApprovalRecord[], plans: PlanRecord[]): Promise<void> {
    const venueOrders = new Map<string, Order>(this.venue.orders().map((o) => [o.clientOrderId, o]));
    const held = new Map<string, number>();
    for (const r of approvals) {
      const o = venueOrders.get(`pd-${r.id}`);
      const sym = r.plan.symbol;
      if (!o) {
        if (r.status === 'filled' || r.status === 'submitted') this.flag('I5', 'record-without-venue-order', `${r.id} is ${r.status} but the venue has no pd-${r.id}`);
        continue;
      }
      const filled = o.filledQuantity;
      const mine = r.result?.filledQuantity ?? 0;
      if (r.status === 'pending' || r.status === 'rejected' || r.status === 'expired' || r.status === 'approved') {
        this.flag('I5', 'venue-order-for-unsent-approval', `${r.id} is ${r.status} but pd-${r.id} is ${o.status} at the venue`);
      } else if (r.status === 'failed' && filled > 0) {
        this.flag('I5', 'failed-but-filled', `${r.id} is failed (${r.reason ?? ''}) but the venue filled ${filled}`);
      } else if (Math.abs(filled - mine) > EPS) {
        this.flag('I5', 'fill-mismatch', `${r.id} is ${r.status} with ${mine} filled, the venue says ${o.status} ${filled}`);
      } else if ((o.status === 'new' || o.status === 'partially_filled') && r.status !== 'submitted') {
        this.flag('I5', 'open-order-closed-record', `${r.id} is ${r.status} while pd-${r.id} is still ${o.status}`);
      }
      held.set(sym, (held.get(sym) ?? 0) + (r.plan.side === 'buy' ? 1 : -1) * filled);
    }
    // Flatten legs close what the approvals and orders placed outside PerpDesk opened (hedged symbols are judged by
    // the hedge checks below).
    for (const o of venueOrders.values()) {
      if (!/^(fl|ext)-/.test(o.clientOrderId) || HEDGED.some((h) => h.symbol === o.symbol)) continue;
      held.set(o.symbol, (held.get(o.symbol) ?? 0) + (o.side === 'buy' ? 1 : -1) * o.filledQuantity);
    }
    for (const [sym, q] of held) {
      const v = this.venue.perpSize(sym);
      if (Math.abs(v - q) > 1e-6) this.flag('I5', 'position-mismatch', `${sym}: desk orders filled ${q}, the venue position is ${v}`);
    }
    for (const s of HEDGED) {
      const h = await this.harvester.hedge(s.symbol);
      const perp = Math.abs(this.venue.perpSize(s.symbol));
      const spot = this.venue.spotBalance(s.base);
      const inFlight = plans.some((p) => p.plan.symbol === s.symbol && (p.status === 'approved' || p.status === 'executing'));
      if (inFlight) continue;
      if (h?.status === 'broken') {
        if (!this.criticalAlertFor(s.symbol)) this.flag('I5', 'broken-without-critical-alert', `${s.symbol} hedge broken without a critical alert`);
        continue;
      }
      if (!h) {
        if (perp > EPS || spot > EPS) this.flag('I5', 'exposure-without-hedge', `${s.symbol}: venue perp ${perp} / spot ${spot} and no hedge record`);
        continue;
      }
      if (Math.abs(perp - h.perpQty) > EPS || Math.abs(spot - h.spotQty) > EPS) {
        this.flag('I5', 'hedge-record-mismatch', `${s.symbol} hedge ${h.planId}: record perp ${h.perpQty} / spot ${h.spotQty}, venue perp ${perp} / spot ${spot}`);
      }
    }
  }
}
