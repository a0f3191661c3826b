/**
 * Delta-neutral funding harvester (domain.md §8). Per symbol with a spot market: harvesterDecision on the
 * annualised rate; enter = short perp + long spot of equal base quantity (mirrored when funding is negative and
 * `allowMirror`), exit below half the entry threshold or when funding turns against, rebalance when the legs drift
 * apart. HARVESTER_MODE=propose posts a plan with Approve / Reject buttons; auto approves it itself. Both go through
 * the same plan state machine (HarvesterState) and executor (HedgeExecutor), audited.
 */
import { annualize } from '../src/domain/funding.js';
import { harvesterDecision } from '../src/domain/harvester.js';
import { floorToStep } from '../src/domain/numbers.js';
import { isDomainError } from '../src/domain/result.js';
import { spotSymbolFor } from '../src/domain/symbols.js';
import { pct, qty, usd } from '../src/format.js';
import { ExchangeError, type Instrument } from '../src/exchange/port.js';
import type { Hedge, HedgeLeg, HedgePlan, PlanRecord } from '../src/services/harvester/state.js';
import { expirePlan, planWords, proposalAlert } from '../src/services/harvester/plans.js';
import { executorFor, legClientId } from '../src/services/harvester/hedge-executor.js';
import { randomBytes } from 'node:crypto';
import type { JobContext } from './job-context.js';

/** Perp-leg leverage of a hedge: low, because the spot leg's gain sits outside the margin account (§4). */
const HEDGE_LEVERAGE = 2;
/** Share of available margin one hedge may use: spot costs the full notional, the perp leg notional/leverage. */
const MARGIN_SHARE = 1 / 3;

export interface HarvesterOutcome {
  symbol: string;
  action: string;
  reason: string;
  planId?: string;
}

export async function runFundingHarvester(ctx: JobContext): Promise<HarvesterOutcome[]> {
  // Stopped means nothing new; a plan that died mid-execution may hold one leg of a hedge, so it still finishes.
  const stopped = ctx.config.HARVESTER_MODE === 'off' || !(await ctx.harvester.enabled());
  const out: HarvesterOutcome[] = [];
  for (const inst of await ctx.market.instruments()) {
    try {
      const r = stopped ? await resumeAbandoned(ctx, inst) : await harvestOne(ctx, inst);
      if (r) out.push(r);
    } catch (err) {
      ctx.log.warn({ err, symbol: inst.symbol }, 'harvester: symbol skipped');
    }
  }
  return out;
}

async function harvestOne(ctx: JobContext, inst: Instrument): Promise<HarvesterOutcome | null> {
  const symbol = inst.symbol;
  const spotSymbol = spotSymbolFor(symbol);
  const now = ctx.now();
  // Everything below is decided on this read; a plan is created only if no other run planned since (see submit).
  const slot = await ctx.harvester.planSlot(symbol);
  if (slot.open) return settleOpenPlan(ctx, slot.open);
  const recorded = await ctx.harvester.hedge(symbol);
  const hedge = recorded && (await reconcileHedge(ctx, inst, recorded));
  if (hedge?.status === 'broken') {
    return record(ctx, { symbol, action: 'none', reason: 'broken_hedge', annRate: null, at: now, note: hedge.note });
  }
  let spot: number;
  try {
    spot = (await ctx.exchange.spotTicker(spotSymbol)).lastPrice;
  } catch (err) {
    // No spot market means no hedge is possible; any other failure must surface (the caller logs it).
    if (err instanceof ExchangeError && err.kind === 'unknown_symbol') return null;
    throw err;
  }
  const [f, t, paused, cascade] = await Promise.all([
    ctx.exchange.funding(symbol),
    ctx.exchange.ticker(symbol),
    ctx.killSwitch.isPaused(),
    ctx.cascade.active(symbol, now),
  ]);
  const ann = annualize({ rate: f.currentRate, intervalHours: f.fundingIntervalHours });
  if (isDomainError(ann)) return record(ctx, { symbol, action: 'none', reason: ann.error, annRate: null, at: now });
  const pred = f.predictedRate === null ? null : annualize({ rate: f.predictedRate, intervalHours: f.fundingIntervalHours });
  const predicted = pred === null || isDomainError(pred) ? null : pred;
  // The domain rule is written for short perp + long spot; a mirrored hedge sees the rates with the sign flipped.
  const s = hedge ? (hedge.perpSide === 'short' ? 1 : -1) : ann < 0 && ctx.tuning.allowMirror ? -1 : 1;
  const d = harvesterDecision({
    annRate: s * ann,
    predictedAnnRate: predicted === null ? null : s * predicted,
    position: hedge ? 'short' : null,
    minAnnRate: ctx.tuning.harvesterMinAnn,
    maxAgainstAnn: ctx.tuning.maxAgainstAnn,
    paused,
    cascadeActive: cascade !== null,
  });
  if (isDomainError(d)) return record(ctx, { symbol, action: 'none', reason: d.error, annRate: ann, at: now });
  const perpSide = s === 1 ? 'short' : 'long';
  const base = { symbol, spotSymbol, perpSide, mark: t.markPrice, spot, annRate: ann, predictedAnnRate: predicted, createdAt: now } as const;

  if (d.action === 'enter') {
    const block = await ctx.harvester.entryBlock(symbol);
    if (block) {
      return record(ctx, { symbol, action: 'none', reason: 'entry_blocked', annRate: ann, at: now, note: `${block.failures} failed entries in a row, last: ${block.reason}; /harvester start allows entries again` });
    }
    const account = await ctx.exchange.account();
    const leverage = Math.min(HEDGE_LEVERAGE, ctx.config.MAX_LEVERAGE, inst.maxLeverage);
    const notional = Math.min(ctx.config.MAX_NOTIONAL_USD, Math.max(0, account.availableMargin) * MARGIN_SHARE);
    const q = floorToStep(notional / Math.max(t.markPrice, spot), inst.lotSize);
    if (!(q >= inst.minQuantity)) {
      return record(ctx, { symbol, action: 'none', reason: 'too_small', annRate: ann, at: now, note: `available margin ${usd(account.availableMargin)} is too small for one lot` });
    }
    const legs: HedgeLeg[] = [
      { market: 'perp', symbol, side: perpSide === 'short' ? 'sell' : 'buy', quantity: q, reduceOnly: false },
      { market: 'spot', symbol: spotSymbol, side: perpSide === 'short' ? 'buy' : 'sell', quantity: q, reduceOnly: false },
    ];
    const reason = `Funding ${pct(ann)} APR (${pct(f.currentRate, 4)} per ${f.fundingIntervalHours}h) is at or above the ${pct(ctx.tuning.harvesterMinAnn, 0)} entry threshold: ${perpSide} perp / ${perpSide === 'short' ? 'long' : 'short'} spot collects it.`;
    return submit(ctx, inst, slot.last, { ...base, id: planId(), action: 'enter', legs, leverage, reason }, d.reason);
  }

  if (d.action === 'exit' && hedge) {
    if (cascade) return record(ctx, { symbol, action: 'hold', reason: 'exit_deferred_cascade', annRate: ann, at: now, note: 'limit-only during the cascade' });
    const pos = (await ctx.exchange.positions()).find((p) => p.symbol === symbol && p.side === hedge.perpSide);
    const legs: HedgeLeg[] = [];
    const perpQ = Math.min(pos?.size ?? 0, hedge.perpQty);
    if (perpQ > 0) legs.push({ market: 'perp', symbol, side: hedge.perpSide === 'short' ? 'buy' : 'sell', quantity: perpQ, reduceOnly: true });
    if (hedge.spotQty > 0) legs.push({ market: 'spot', symbol: spotSymbol, side: hedge.perpSide === 'short' ? 'sell' : 'buy', quantity: hedge.spotQty, reduceOnly: false });
    if (!legs.length) {
      await ctx.harvester.dropHedge(symbol);
      return record(ctx, { symbol, action: 'none', reason: 'hedge_already_closed', annRate: ann, at: now });
    }
    const why = d.reason === 'funding_against' ? `funding turned against the hedge (${pct(ann)} APR)` : `funding fell to ${pct(ann)} APR, below half the entry threshold (${pct(ctx.tuning.harvesterMinAnn / 2, 0)})`;
    return submit(ctx, inst, slot.last, { ...base, perpSide: hedge.perpSide, id: planId(), action: 'exit', legs, leverage: HEDGE_LEVERAGE, reason: `Exit: ${why}.` }, d.reason);
  }

  if (d.action === 'hold' && hedge) {
    const plan = await rebalancePlan(ctx, inst, hedge, base);
    // During a cascade the executor sends it as limit orders near the price, never as market orders.
    if (plan) return submit(ctx, inst, slot.last, plan, 'legs_drifted');
  }
  return record(ctx, { symbol, action: d.action, reason: d.reason, annRate: ann, at: now });
}

/**
 * Brings an open hedge's perp leg in line with the venue's position before anything is decided. Shrinkage
 * (liquidation, ADL, a manual close) is adopted. Growth is adopted only as far as the hedge's own entry order
 * explains it (the rest of a partly filled perp leg that filled after the hedge was recorded, as the executor once
 * left it), since a larger position may hold the team's own trades; such an entry order still resting is canceled.
 * The rebalance then brings the legs back to equal.
 */
async function reconcileHedge(ctx: JobContext, inst: Instrument, hedge: Hedge): Promise<Hedge> {
  if (hedge.status !== 'open') return hedge;
  const pos = (await ctx.exchange.positions()).find((p) => p.symbol === hedge.symbol && p.side === hedge.perpSide);
  const venue = pos?.size ?? 0;
  const half = inst.lotSize / 2;
  let perpQty = hedge.perpQty;
  let why = '';
  if (venue < hedge.perpQty - half) {
    perpQty = venue;
    why = `the venue's ${hedge.perpSide} position is ${venue}`;
  } else if (venue > hedge.perpQty + half) {
    const own = await entryPerpFill(ctx, hedge);
    if (own !== null && own > hedge.perpQty + half) {
      perpQty = Math.min(venue, own);
      why = `its entry order (plan ${hedge.planId}) filled ${own} in all; the venue's ${hedge.perpSide} position is ${venue}`;
    }
  }
  if (!why) return hedge;
  const next: Hedge = { ...hedge, perpQty };
  await ctx.harvester.putHedge(next);
  await ctx.audit.append({ ts: ctx.now(), actor: 'PerpDesk harvester', platform: 'system', action: 'harvester.reconciled', subject: hedge.symbol, detail: `perp leg ${hedge.perpQty} -> ${perpQty}: ${why}` });
  ctx.log.warn({ symbol: hedge.symbol, recorded: hedge.perpQty, venue, adopted: perpQty }, 'harvester hedge reconciled with the venue');
  return next;
}

/** What the perp leg of the plan that opened `hedge` holds at the venue (fill less its unwind); null if unknown. */
async function entryPerpFill(ctx: JobContext, hedge: Hedge): Promise<number | null> {
  const rec = await ctx.harvester.plan(hedge.planId);
  if (rec?.plan.action !== 'enter' || rec.plan.legs[0]?.market !== 'perp') return null;
  const find = async (clientOrderId: string) => (await ctx.exchange.listOrders({ clientOrderId })).find((o) => o.clientOrderId === clientOrderId);
  let entry = await find(legClientId(hedge.planId, 0));
  if (!entry) return null;
  if (entry.status === 'new' || entry.status === 'partially_filled') {
    entry = await ctx.exchange.cancelOrder(entry.orderId);
    await ctx.audit.append({ ts: ctx.now(), actor: 'PerpDesk harvester', platform: 'system', action: 'harvester.cancel', subject: hedge.planId, detail: `the rest of entry order ${entry.clientOrderId} was still resting: canceled, filled ${entry.filledQuantity}` });
  }
  const unwind = await find(legClientId(hedge.planId, 0, true));
  return entry.filledQuantity - (unwind?.filledQuantity ?? 0);
}

/** Reduces the larger leg to the smaller one when they drift apart by more than the tolerance: never adds exposure. */
async function rebalancePlan(ctx: JobContext, inst: Instrument, hedge: Hedge, base: Omit<HedgePlan, 'id' | 'action' | 'legs' | 'leverage' | 'reason'>): Promise<HedgePlan | null> {
  const perpQ = hedge.perpQty;
  const spotQ = hedge.spotQty;
  const larger = Math.max(perpQ, spotQ);
  if (larger <= 0 || Math.abs(perpQ - spotQ) / larger <= ctx.tuning.hedgeTolerance) return null;
  const diff = floorToStep(Math.abs(perpQ - spotQ), inst.lotSize);
  if (!(diff > 0)) return null;
  const leg: HedgeLeg =
    perpQ > spotQ
      ? { market: 'perp', symbol: hedge.symbol, side: hedge.perpSide === 'short' ? 'buy' : 'sell', quantity: diff, reduceOnly: true }
      : { market: 'spot', symbol: hedge.spotSymbol, side: hedge.perpSide === 'short' ? 'sell' : 'buy', quantity: diff, reduceOnly: false };
  return {
    ...base,
    perpSide: hedge.perpSide,
    id: planId(),
    action: 'rebalance',
    legs: [leg],
    leverage: HEDGE_LEVERAGE,
    reason: `Rebalance: perp leg ${qty(perpQ, inst.lotSize)} vs spot leg ${qty(spotQ, inst.lotSize)} differ by more than ${pct(ctx.tuning.hedgeTolerance, 0)}; reducing the larger leg.`,
  };
}

/** `decidedOn`: the symbol's last plan when the run read its state; if another run planned since, nothing is made. */
async function submit(ctx: JobContext, inst: Instrument, decidedOn: string | null, plan: HedgePlan, reason: string): Promise<HarvesterOutcome> {
  const now = ctx.now();
  const auto = ctx.config.HARVESTER_MODE === 'auto';
  const rec = await ctx.harvester.createPlan(
    {
      plan,
      status: auto ? 'approved' : 'pending',
      mode: auto ? 'auto' : 'propose',
      expiresAt: now + ctx.config.APPROVAL_TTL_SECONDS * 1000,
      required: ctx.config.APPROVALS_REQUIRED,
    },
    now,
    {
      audit: { ts: now, actor: 'PerpDesk harvester', platform: 'system', action: auto ? 'harvester.auto_approved' : 'harvester.proposed', subject: plan.id, detail: planWords(plan) },
      decidedOn,
    },
  );
  if (!rec) return record(ctx, { symbol: plan.symbol, action: plan.action, reason: 'plan_already_open', annRate: plan.annRate, at: now });
  await record(ctx, { symbol: plan.symbol, action: plan.action, reason, annRate: plan.annRate, at: now, note: auto ? `executing plan ${plan.id}` : `proposed plan ${plan.id}` });
  if (auto) await executorFor(ctx).run(plan.id);
  else await ctx.alerts.publish(proposalAlert(rec, inst));
  return { symbol: plan.symbol, action: plan.action, reason, planId: plan.id };
}

/** A stopped harvester trades nothing new: it finishes an interrupted plan and keeps its records true to the venue. */
async function resumeAbandoned(ctx: JobContext, inst: Instrument): Promise<HarvesterOutcome | null> {
  const symbol = inst.symbol;
  const open = await ctx.harvester.openPlanFor(symbol);
  if (!open) {
    const hedge = await ctx.harvester.hedge(symbol);
    if (hedge) await reconcileHedge(ctx, inst, hedge);
    return null;
  }
  if (open.status !== 'executing') return null;
  await executorFor(ctx).run(open.plan.id, { resume: true });
  return { symbol, action: open.plan.action, reason: 'resumed', planId: open.plan.id };
}

/** A pending plan past its deadline expires (its message is edited); an abandoned execution resumes. */
async function settleOpenPlan(ctx: JobContext, rec: PlanRecord): Promise<HarvesterOutcome> {
  const now = ctx.now();
  const symbol = rec.plan.symbol;
  if (rec.status === 'pending' && now >= rec.expiresAt) {
    await expirePlan(ctx, rec);
    return { symbol, action: 'none', reason: 'proposal_expired', planId: rec.plan.id };
  }
  if (rec.status === 'approved' || rec.status === 'executing') {
    await executorFor(ctx).run(rec.plan.id, { resume: true });
    return { symbol, action: rec.plan.action, reason: 'resumed', planId: rec.plan.id };
  }
  return { symbol, action: 'none', reason: 'proposal_pending', planId: rec.plan.id };
}

async function record(ctx: JobContext, d: { symbol: string; action: string; reason: string; annRate: number | null; at: number; note?: string }): Promise<HarvesterOutcome> {
  await ctx.harvester.recordDecision(d);
  return { symbol: d.symbol, action: d.action, reason: d.reason };
}

function planId(): string {
  return `p${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

