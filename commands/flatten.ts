/**
 * `/flatten [reason]`: the emergency exit. One preview lists every resting order to cancel and every position to
 * close reduce-only; it is approved like an order (approvers, four-eyes with APPROVALS_REQUIRED > 1, self-approval as
 * configured) and allowed while paused. The approving click queues the execution (src/services/flatten/executor.ts),
 * which reports leg by leg to the alert destinations when done.
 */
import { defineButton, defineCommand, type ButtonResult } from './define.js';
import type { CommandContext, Invocation } from './context.js';
import { hasRole } from './dispatch.js';
import { personOf } from './order.js';
import { asConfigured, otherKeysOf } from './identity.js';
import { NOT_POSTED_HERE, postedHere } from './access.js';
import type { ButtonId } from '../src/chat/button-id.js';
import { causeOf, samePerson } from '../src/services/approvals/store.js';
import { duplicateApprovalNotice, isOverdue, recordedApprovalNotice, selfApprovalRefusal } from '../src/services/approvals/decision.js';
import { previewFlatten } from '../src/services/flatten/preview.js';
import { FLATTEN_APPROVE, FLATTEN_REJECT, renderFlatten, staleFlattenNotice } from '../src/services/flatten/render.js';
import { flattenWords, type FlattenRecord } from '../src/services/flatten/store.js';
import { FlattenNotices } from '../src/services/flatten/notices.js';
import { SYSTEM } from '../src/services/approvals/store.js';
import { utc } from '../src/format.js';

const UNKNOWN = 'This flatten is no longer valid: PerpDesk has no record of it. Run /flatten again.';

function notices(ctx: CommandContext): FlattenNotices {
  return new FlattenNotices({ messageRefs: ctx.messageRefs, notifiers: ctx.notifiers, log: ctx.log });
}

function clicked(inv: Invocation): { platform: string; chatId: string } {
  return { platform: inv.platform, chatId: inv.chatId };
}

async function expireNow(ctx: CommandContext, rec: FlattenRecord, inv: Invocation): Promise<ButtonResult> {
  const t = await ctx.flattens.transition(rec.id, ['pending'], 'expired', ctx.now(), {
    action: 'flatten.expired', detail: `not approved in time: ${flattenWords(rec)}`, cause: SYSTEM, endReason: `not approved before ${utc(rec.expiresAt)}`,
  });
  const cur = t.ok ? t.record : t.current;
  if (!cur) return { notice: UNKNOWN };
  return { update: renderFlatten(cur), notice: staleFlattenNotice(cur), ...(t.ok ? { afterAnswer: () => notices(ctx).updated(cur, null, clicked(inv)) } : {}) };
}

async function refuse(ctx: CommandContext, rec: FlattenRecord, inv: Invocation, why: string): Promise<ButtonResult> {
  await ctx.audit.append({ ts: ctx.now(), ...causeOf(personOf(inv)), action: 'flatten.approval_refused', subject: rec.id, detail: why });
  return { notice: why };
}

export const flattenApprove = defineButton({
  action: FLATTEN_APPROVE,
  role: 'approver',
  async run(ctx, id: ButtonId, inv) {
    const rec = await ctx.flattens.get(id.ref);
    if (!rec) return { notice: UNKNOWN };
    if (!(await postedHere(ctx, inv, rec.id, { platform: rec.requester.platform, chatId: rec.chatId }))) return refuse(ctx, rec, inv, NOT_POSTED_HERE);
    if (rec.status !== 'pending') return { update: renderFlatten(rec), notice: staleFlattenNotice(rec) };
    if (isOverdue(ctx.now(), rec.expiresAt, id.exp)) return expireNow(ctx, rec, inv);
    const me = personOf(inv);
    const self = selfApprovalRefusal(me, asConfigured(ctx, rec.requester), rec.selfApprovalAllowed, ctx.config.ALLOW_SELF_APPROVAL, 'flatten');
    if (self) return refuse(ctx, rec, inv, self);
    // No market checks here: a flatten only cancels and reduces, and is allowed while paused; the executor prices
    // each close when it runs (limits during a cascade).
    const r = await ctx.flattens.approve(rec, me, ctx.now(), otherKeysOf(ctx, me));
    switch (r.kind) {
      case 'missing':
        return { notice: UNKNOWN };
      case 'expired':
        return expireNow(ctx, r.record, inv);
      case 'conflict':
        return { update: renderFlatten(r.record), notice: staleFlattenNotice(r.record) };
      case 'duplicate':
        return { notice: duplicateApprovalNotice('flatten', r.count, r.record.required) };
      case 'recorded':
        return { update: renderFlatten(r.record), notice: recordedApprovalNotice(r.count, r.record.required), afterAnswer: () => notices(ctx).updated(r.record, null, clicked(inv)) };
      case 'approved': {
        ctx.log.warn({ flattenId: rec.id, approvers: r.count }, 'flatten approved');
        const queued = ctx.orderQueue.enqueueFlatten(rec.id).catch((err: unknown) => {
          // The orders sweep resumes an approved flatten whose job never made it to the queue.
          ctx.log.error({ err, flattenId: rec.id }, 'could not enqueue approved flatten');
        });
        return {
          update: renderFlatten(r.record),
          notice: 'Approved: flattening now. The report follows leg by leg when it is done.',
          afterAnswer: async () => {
            await queued;
            const latest = await ctx.flattens.get(rec.id);
            await notices(ctx).updated(latest ?? r.record, null, clicked(inv));
          },
        };
      }
    }
  },
});

export const flattenReject = defineButton({
  action: FLATTEN_REJECT,
  role: 'viewer',
  async run(ctx, id, inv) {
    const rec = await ctx.flattens.get(id.ref);
    if (!rec) return { notice: UNKNOWN };
    if (!(await postedHere(ctx, inv, rec.id, { platform: rec.requester.platform, chatId: rec.chatId }))) return refuse(ctx, rec, inv, NOT_POSTED_HERE);
    const me = personOf(inv);
    const mine = samePerson(me, asConfigured(ctx, rec.requester));
    if (!mine && !hasRole(ctx, inv, 'approver')) return { notice: 'You need the approver (PERPDESK_APPROVERS) role to reject a flatten someone else requested.' };
    if (rec.status !== 'pending') return { update: renderFlatten(rec), notice: staleFlattenNotice(rec) };
    if (isOverdue(ctx.now(), rec.expiresAt, id.exp)) return expireNow(ctx, rec, inv);
    const t = await ctx.flattens.transition(rec.id, ['pending'], 'rejected', ctx.now(), {
      action: 'flatten.rejected', detail: `${mine ? 'withdrawn by the requester' : 'rejected'}: ${flattenWords(rec)}`, cause: causeOf(me),
      decidedBy: me.displayName, ...(mine ? { endReason: 'withdrawn by the requester' } : {}),
    });
    if (!t.ok) return t.current ? { update: renderFlatten(t.current), notice: staleFlattenNotice(t.current) } : { notice: UNKNOWN };
    return { update: renderFlatten(t.record), notice: 'Rejected: nothing was cancelled or closed.', afterAnswer: () => notices(ctx).updated(t.record, null, clicked(inv)) };
  },
});

export const flattenButtons = [flattenApprove, flattenReject];

export default defineCommand({
  name: 'flatten',
  description: 'Emergency exit: cancel every resting order and close every position reduce-only, after approval',
  role: 'trader',
  sideEffect: 'order',
  slow: true,
  options: [{ name: 'reason', description: 'Why (shown to the team and in the report)', type: 'string', maxLength: 200 }],
  async run(ctx, args, inv) {
    const now = ctx.now();
    const requester = personOf(inv);
    const reason = args.reason ?? 'no reason given';
    let preview;
    try {
      preview = await previewFlatten({ ...ctx, flattenRequester: async (id) => (await ctx.flattens.get(id))?.requester.displayName ?? null }, reason);
    } catch (e) {
      await ctx.audit.append({ ts: now, ...causeOf(requester), action: 'flatten.preview_refused', subject: 'flatten', detail: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    const rec = await ctx.flattens.create({
      createdAt: now,
      expiresAt: now + ctx.config.APPROVAL_TTL_SECONDS * 1000,
      requester,
      chatId: inv.chatId,
      required: ctx.config.APPROVALS_REQUIRED,
      selfApprovalAllowed: ctx.config.ALLOW_SELF_APPROVAL,
      reason,
      cancels: preview.cancels,
      closes: preview.closes,
      view: preview.view,
    });
    ctx.log.warn({ flattenId: rec.id, cancels: rec.cancels.length, closes: rec.closes.length }, 'flatten preview offered');
    return { ...renderFlatten(rec), track: rec.id };
  },
});
