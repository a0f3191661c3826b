/**
 * `/harvester status|start|stop` and the Approve / Reject buttons of harvester proposals (`pd1:hvok:<plan>:<exp>`,
 * `pd1:hvno:<plan>:<exp>`). Clicks are judged by the same rules as order approvals (src/services/approvals/decision.ts) and change
 * a plan only through HarvesterState, which runs the orders' approve / transition scripts (status compare-and-set
 * and audit entry in one atomic step); an approved plan is executed at once by the same executor auto mode uses.
 */
import type { ButtonId } from '../src/chat/button-id.js';
import { defineButton, defineCommand, type ButtonResult } from './define.js';
import type { CommandContext, Invocation } from './context.js';
import { requireRole } from './dispatch.js';
import { UserError } from '../src/errors.js';
import { personOf } from './order.js';
import type { Reply } from '../src/chat/reply.js';
import { pct, qty, signedUsd, utc } from '../src/format.js';
import { hedgePnlOf } from '../src/services/ledger/hedge-pnl.js';
import { causeOf } from '../src/services/approvals/store.js';
import type { Person } from '../src/services/approvals/types.js';
import { otherKeysOf } from './identity.js';
import { approverNames, duplicateApprovalNotice, isOverdue, recordedApprovalNotice } from '../src/services/approvals/decision.js';
import type { AuditEntry } from '../src/services/audit.js';
import type { PlanRecord } from '../src/services/harvester/state.js';
import { executorFor, OutcomeUnknownError } from '../src/services/harvester/hedge-executor.js';
import { expirePlan, HARVEST_APPROVE, HARVEST_REJECT, planFields, planStatusAlert, planWords, proposalTrack } from '../src/services/harvester/plans.js';
import { NOT_POSTED_HERE, postedHere } from './access.js';

const MODE_WORDS = {
  off: 'off (HARVESTER_MODE=off)',
  propose: 'propose: every entry, exit and rebalance is posted for approval',
  auto: 'auto: entries, exits and rebalances are placed without approval (audited)',
} as const;

export default defineCommand({
  name: 'harvester',
  description: 'Funding harvester: state and last decisions; start/stop (admin)',
  role: 'viewer',
  sideEffect: 'control',
  options: [{ name: 'action', description: 'status, start or stop', type: 'string', choices: ['status', 'start', 'stop'] }],
  async run(ctx, args, inv) {
    const action = args.action ?? 'status';
    const now = ctx.now();
    if (action !== 'status') {
      requireRole(ctx, inv, 'admin', `${action} the harvester`);
      if (action === 'start' && ctx.config.HARVESTER_MODE === 'off') {
        throw new UserError('harvester_off', 'The harvester cannot start: HARVESTER_MODE=off. Set HARVESTER_MODE=propose (or auto) and restart PerpDesk.');
      }
      const me = personOf(inv);
      const [wasEnabled, hedgesNow, blocksNow] = await Promise.all([ctx.harvester.enabled(), ctx.harvester.hedges(), ctx.harvester.entryBlocks()]);
      // Nothing changes: say so, and keep the audit log to real switches.
      if (action === 'stop' && !wasEnabled) return statusReply(ctx, 'already stopped', now);
      if (action === 'start' && wasEnabled && !hedgesNow.some((h) => h.status === 'broken') && !blocksNow.length) return statusReply(ctx, 'already running', now);
      await ctx.harvester.setEnabled(action === 'start');
      const done: string[] = [action === 'start' ? 'started' : 'stopped'];
      if (action === 'start') {
        // Starting again is the decision the broken-hedge and stopped-entries alerts asked for.
        let cleared = 0;
        for (const h of await ctx.harvester.hedges()) {
          if (h.status !== 'broken') continue;
          await ctx.harvester.dropHedge(h.symbol);
          cleared++;
        }
        if (cleared) done.push(`${cleared} broken hedge record(s) cleared`);
        const unblocked = await ctx.harvester.clearEntryBlocks();
        if (unblocked.length) done.push(`entries in ${unblocked.sort().join(', ')} allowed again`);
      }
      await ctx.audit.append({
        ts: now,
        ...causeOf(me),
        action: `harvester.${action}`,
        subject: 'harvester',
        detail: done.join('; '),
      });
      ctx.log.info({ by: me.displayName, action }, 'harvester switched');
    }
    return statusReply(ctx, action === 'status' ? null : action, now);
  },
});

async function statusReply(ctx: CommandContext, changed: string | null, now: number): Promise<Reply> {
  const [enabled, hedges, decisions, blocks] = await Promise.all([ctx.harvester.enabled(), ctx.harvester.hedges(), ctx.harvester.decisions(), ctx.harvester.entryBlocks()]);
  const mode = ctx.config.HARVESTER_MODE;
  const running = mode !== 'off' && enabled;
  const fields = [
    { name: 'State', value: running ? '▶ running' : mode === 'off' ? '⏹ off' : '⏸ stopped (/harvester start)', inline: true },
    { name: 'Mode', value: MODE_WORDS[mode], inline: true },
    { name: 'Every', value: `${ctx.config.HARVESTER_INTERVAL_SECONDS} s`, inline: true },
  ];
  const splits = await Promise.all(hedges.map((h) => (h.status === 'open' ? hedgePnlOf(ctx.ledger, ctx.exchange, h).catch(() => null) : null)));
  hedges.forEach((h, i) => {
    const split = splits[i];
    const pnl = split?.ok
      ? `\nPnL ${signedUsd(split.pnl.total)}: funding ${signedUsd(split.pnl.funding)}, fees ${signedUsd(split.pnl.fees)}, basis ${signedUsd(split.pnl.basis)}, delta ${signedUsd(split.pnl.delta)}`
      : split ? `\nPnL split unavailable: ${split.why}` : '';
    fields.push({
      name: `Hedge ${h.symbol}${h.status === 'broken' ? ' ⚠ broken' : ''}`,
      value: `${h.perpSide} perp ${qty(h.perpQty)} / ${h.perpSide === 'short' ? 'long' : 'short'} spot ${qty(h.spotQty)} ${h.spotSymbol}; since ${utc(h.openedAt)} at ${pct(h.entryAnnRate)} APR${pnl}${h.note ? `\n${h.note}` : ''}`,
      inline: false,
    });
  });
  for (const b of blocks.sort((x, y) => x.symbol.localeCompare(y.symbol))) {
    fields.push({
      name: `Entries stopped — ${b.symbol}`,
      value: `${b.failures} failed entries in a row since ${utc(b.since)}; last: ${b.reason}. /harvester start allows entries again.`,
      inline: false,
    });
  }
  const table = decisions.length
    ? {
        headers: ['Symbol', 'Decision', 'Reason', 'APR', 'When'],
        rows: decisions
          .sort((a, b) => a.symbol.localeCompare(b.symbol))
          .map((d) => [d.symbol, d.action, d.reason + (d.note ? ` (${d.note})` : ''), d.annRate === null ? '—' : pct(d.annRate), utc(d.at)]),
        align: ['left', 'left', 'left', 'right', 'left'] as ('left' | 'right')[],
      }
    : undefined;
  return {
    title: changed ? `Harvester ${changed === 'start' ? 'started' : changed === 'stop' ? 'stopped' : changed}` : 'Funding harvester',
    fields,
    table,
    text: decisions.length ? undefined : 'No decision yet: the harvester has not run since it was enabled.',
    severity: running ? 'info' : 'warning',
    footer: `Entry at ${pct(0.5, 0)} APR, exit below ${pct(0.25, 0)} or when funding runs against the hedge beyond ${pct(1, 0)}. ${utc(now)}`,
  };
}

const UNKNOWN = 'This harvester proposal is no longer known (older than 30 days or from another deployment).';
const NOUN = 'proposal';

function planReply(rec: PlanRecord, note: string): Reply {
  const p = rec.plan;
  return {
    title: `Harvester proposal — ${p.action} ${p.symbol}: ${rec.status}`,
    text: `${p.reason}\n${note}`,
    fields: planFields(p),
    severity: rec.status === 'executed' ? 'success' : rec.status === 'failed' ? 'critical' : 'info',
  };
}

function stale(rec: PlanRecord): ButtonResult {
  const by = rec.decidedBy ?? (rec.approvers.length ? approverNames(rec.approvers) : null);
  const who = by ? ` by ${by}` : '';
  return { update: planReply(rec, `Already ${rec.status}${who}.`), notice: `This proposal is already ${rec.status}${who}.` };
}

/** Audit entry of a person's decision on a plan: the same shape as the order approvals' entries. */
function entry(me: Person, now: number, rec: PlanRecord, action: string, detail: string): AuditEntry {
  return { ts: now, ...causeOf(me), action: `harvester.${action}`, subject: rec.plan.id, detail };
}

async function expire(ctx: CommandContext, rec: PlanRecord): Promise<ButtonResult> {
  const t = await expirePlan(ctx, rec);
  const cur = t.record ?? rec;
  return { update: planReply(cur, 'Expired: not approved in time.'), notice: 'This proposal has expired.' };
}

async function refuse(ctx: CommandContext, rec: PlanRecord, inv: Invocation, why: string): Promise<ButtonResult> {
  await ctx.audit.append(entry(personOf(inv), ctx.now(), rec, 'approval_refused', `${why}: ${planWords(rec.plan)}`));
  return { notice: why };
}

/**
 * The plan a click is about, while it still waits for a decision; otherwise the answer for the clicker. A click
 * counts only in a chat the proposal was posted to.
 */
async function pendingPlan(ctx: CommandContext, id: ButtonId, inv: Invocation): Promise<{ rec: PlanRecord; now: number } | ButtonResult> {
  const rec = await ctx.harvester.plan(id.ref);
  if (!rec) return { notice: UNKNOWN };
  if (!(await postedHere(ctx, inv, proposalTrack(rec.plan.id)))) return refuse(ctx, rec, inv, NOT_POSTED_HERE);
  if (rec.status !== 'pending') return stale(rec);
  const now = ctx.now();
  if (isOverdue(now, rec.expiresAt, id.exp)) return expire(ctx, rec);
  return { rec, now };
}

export const approveHarvest = defineButton({
  action: HARVEST_APPROVE,
  role: 'approver',
  async run(ctx, id, inv) {
    const open = await pendingPlan(ctx, id, inv);
    if (!('rec' in open)) return open;
    const { rec, now } = open;
    const me = personOf(inv);
    // No self-approval rule here: the harvester (the system) requested the plan, never a chat user.
    if (rec.plan.action === 'enter') {
      const pause = await ctx.killSwitch.state();
      if (pause) return refuse(ctx, rec, inv, `Approval refused: trading is paused by ${pause.by} (${pause.reason}).`);
      if (await ctx.cascade.active(rec.plan.symbol, now)) return refuse(ctx, rec, inv, `Approval refused: a liquidation cascade is running in ${rec.plan.symbol}; the harvester opens nothing until it is over.`);
      const stopped = await ctx.harvester.entryBlock(rec.plan.symbol);
      if (stopped) return refuse(ctx, rec, inv, `Approval refused: entries in ${rec.plan.symbol} are stopped after ${stopped.failures} failed entries in a row; an admin's /harvester start allows them again.`);
    }
    const words = planWords(rec.plan);
    const r = await ctx.harvester.approve(rec.plan.id, me, now, {
      recorded: entry(me, now, rec, 'approval_recorded', `approval __COUNT__ of ${rec.required}: ${words}`),
      approved: entry(me, now, rec, 'approved', `approval __COUNT__ of ${rec.required}, plan approved: ${words}`),
    }, otherKeysOf(ctx, me));
    if (r.kind === 'missing') return { notice: UNKNOWN };
    if (r.kind === 'expired') return expire(ctx, r.record);
    if (r.kind === 'conflict') return stale(r.record);
    if (r.kind === 'duplicate') return { notice: duplicateApprovalNotice(NOUN, r.count, r.record.required) };
    if (r.kind === 'recorded') return { update: planReply(r.record, `Approvals: ${r.count} of ${r.record.required}.`), notice: recordedApprovalNotice(r.count, r.record.required) };
    try {
      const done = await executorFor(ctx).run(rec.plan.id);
      const cur = done ?? r.record;
      return { update: planReply(cur, `Approved by ${approverNames(r.record.approvers)}. ${cur.result ?? ''}`.trim()), notice: cur.status === 'executed' ? 'Approved: both legs placed.' : `Approved, but ${cur.status}: ${cur.result ?? ''}` };
    } catch (e) {
      if (e instanceof OutcomeUnknownError) {
        return { update: planReply(r.record, `Approved by ${approverNames(r.record.approvers)}; the exchange did not answer in time. The next harvester run checks and completes it with the same order ids.`), notice: 'Approved; placement is being confirmed.' };
      }
      throw e;
    }
  },
});

export const rejectHarvest = defineButton({
  action: HARVEST_REJECT,
  role: 'approver',
  async run(ctx, id, inv) {
    const open = await pendingPlan(ctx, id, inv);
    if (!('rec' in open)) return open;
    const { rec, now } = open;
    const me = personOf(inv);
    const t = await ctx.harvester.transition(rec.plan.id, ['pending'], 'rejected', now, {
      decidedBy: me.displayName,
      audit: entry(me, now, rec, 'rejected', `rejected: ${planWords(rec.plan)}`),
    });
    if (!t.ok || !t.record) return t.record ? stale(t.record) : { notice: UNKNOWN };
    // Edits the proposal in the other chats; the clicked one gets the update below.
    await ctx.alerts.publish(planStatusAlert(t.record, `Rejected by ${me.displayName}: nothing was sent to the exchange.`, now));
    return { update: planReply(t.record, `Rejected by ${me.displayName}: nothing was sent to the exchange.`), notice: 'Rejected: nothing was sent to the exchange.' };
  },
});

export const harvesterButtons = [approveHarvest, rejectHarvest];
