/**
 * Harvester plans as the job (jobs/funding-harvester.ts), the `/harvester` command and the executor need them:
 * expiry of a plan that may not run, and how a plan reads in chat. Kept here, below all three, so a command never
 * reaches into a job.
 */
import { pct, qty, usd, utc } from '../../format.js';
import type { Instrument } from '../../exchange/port.js';
import type { AlertService } from '../alerts/publish.js';
import { SYSTEM } from '../approvals/store.js';
import { alertTrack, incidentRef } from '../alerts/render.js';
import type { HarvesterState, HedgePlan, PlanRecord, PlanStatus } from './state.js';

export const HARVEST_APPROVE = 'hvok';
export const HARVEST_REJECT = 'hvno';

/** The alert incident of a plan's proposal and its follow-ups: they edit one message per chat. */
function proposalIncident(planId: string): string {
  return `harvester:${planId}`;
}

/** Where the proposal's messages are tracked (message refs): the chats it was posted to. */
export function proposalTrack(planId: string): string {
  return alertTrack(incidentRef(proposalIncident(planId)));
}

/** Why a plan may not run: not approved in time, or blocked (pause, cascade, stopped entries) when about to run. */
export type ExpiryCause = { kind: 'deadline' } | { kind: 'blocked'; why: string; from: readonly PlanStatus[] };

/**
 * Moves a plan that may not run to `expired`, audited like an expired order (`harvester.expired` by PerpDesk, in
 * the same atomic step), and edits the proposal message with the reason. Only the caller that wins the transition
 * announces it.
 */
export async function expirePlan(
  ctx: { harvester: HarvesterState; alerts: AlertService; now(): number },
  rec: PlanRecord,
  cause: ExpiryCause = { kind: 'deadline' },
): Promise<{ ok: boolean; record: PlanRecord | null }> {
  const now = ctx.now();
  const blocked = cause.kind === 'blocked';
  const detail = blocked ? `blocked before execution: ${cause.why}` : 'not approved within the time limit';
  const t = await ctx.harvester.transition(rec.plan.id, blocked ? cause.from : ['pending'], 'expired', now, {
    decidedBy: SYSTEM.actor,
    ...(blocked ? { result: detail } : {}),
    audit: { ts: now, ...SYSTEM, action: 'harvester.expired', subject: rec.plan.id, detail: `${detail}: ${planWords(rec.plan)}` },
  });
  const status = blocked ? `Expired: ${cause.why}. Nothing was sent to the exchange.` : 'Expired: not approved in time.';
  if (t.ok && t.record) await ctx.alerts.publish(planStatusAlert(t.record, status, now));
  return t;
}

export function planWords(p: HedgePlan): string {
  return `${p.action} ${p.symbol}: ${p.legs.map((l) => `${l.market} ${l.side} ${l.quantity} ${l.symbol}${l.reduceOnly ? ' reduce-only' : ''}`).join(' + ')} (funding ${pct(p.annRate)} APR)`;
}

const ACTION_WORDS = { enter: 'enter', exit: 'exit', rebalance: 'rebalance' } as const;

export function planFields(p: HedgePlan, lot?: number): { name: string; value: string; inline?: boolean }[] {
  return [
    ...p.legs.map((l) => ({
      name: `${l.market === 'perp' ? 'Perp' : 'Spot'} leg`,
      value: `${l.side} ${qty(l.quantity, lot)} ${l.symbol}${l.reduceOnly ? ' (reduce-only)' : ''}${l.market === 'perp' && !l.reduceOnly ? ` at ${p.leverage}x` : ''}`,
      inline: true,
    })),
    { name: 'Funding rate', value: `${pct(p.annRate)} APR${p.predictedAnnRate === null ? '' : ` (predicted ${pct(p.predictedAnnRate)})`}`, inline: true },
    { name: 'Notional', value: usd((p.legs[0]?.quantity ?? 0) * p.mark), inline: true },
  ];
}

export function proposalAlert(rec: PlanRecord, inst?: Instrument) {
  const p = rec.plan;
  const exp = Math.floor(rec.expiresAt / 1000);
  return {
    key: `harvester:${p.id}:proposal`,
    kind: 'harvester' as const,
    severity: 'warning' as const,
    symbol: p.symbol,
    title: `Harvester proposal — ${ACTION_WORDS[p.action]} ${p.symbol}${p.action === 'enter' ? ` (${p.perpSide} perp / ${p.perpSide === 'short' ? 'long' : 'short'} spot)` : ''}`,
    text: `${p.reason}\nNeeds ${rec.required} approval(s) before ${utc(rec.expiresAt)}.`,
    fields: planFields(p, inst?.lotSize),
    incident: proposalIncident(p.id),
    buttons: [
      { action: HARVEST_APPROVE, ref: p.id, exp, label: 'Approve', style: 'success' as const },
      { action: HARVEST_REJECT, ref: p.id, exp, label: 'Reject', style: 'danger' as const },
    ],
    at: p.createdAt,
  };
}

/** Follow-up of a proposal (approved, rejected, expired): edits the proposal message, without buttons. */
export function planStatusAlert(rec: PlanRecord, status: string, at: number) {
  const p = rec.plan;
  return {
    key: `harvester:${p.id}:${rec.status}`,
    kind: 'harvester' as const,
    severity: rec.status === 'rejected' || rec.status === 'expired' ? ('info' as const) : ('warning' as const),
    filterSeverity: 'warning' as const,
    symbol: p.symbol,
    title: `Harvester proposal — ${ACTION_WORDS[p.action]} ${p.symbol}: ${rec.status}`,
    text: `${p.reason}\n${status}`,
    fields: planFields(p),
    incident: proposalIncident(p.id),
    at,
  };
}
