/**
 * Approve / Reject buttons of order previews (`pd1:ap:<id>:<exp>`, `pd1:rj:<id>:<exp>`). Each click re-reads the
 * persisted approval and changes it only through the store's atomic transitions; whatever the click finds already
 * decided, expired or unknown is answered in words, never acted on. The clicker is answered as soon as the decision
 * is persisted; edits of the preview's other copies follow the answer (`afterAnswer`).
 */
import { defineButton, type ButtonResult, type ClickProgress } from './define.js';
import type { CommandContext, Invocation } from './context.js';
import { hasRole } from './dispatch.js';
import { personOf } from './order.js';
import type { ButtonId } from '../src/chat/button-id.js';
import { causeOf, planWords, samePerson, type ApprovalRecord } from '../src/services/approvals/store.js';
import { asConfigured, otherKeysOf } from './identity.js';
import { NOT_POSTED_HERE, postedHere } from './access.js';
import { APPROVE_ACTION, REJECT_ACTION, renderApproval, staleNotice } from '../src/services/approvals/render.js';
import { ApprovalNotices } from '../src/services/approvals/notices.js';
import { orderBlocker, type RefusalReason } from '../src/services/orders/guards.js';
import { ordersRefusedTotal } from '../src/metrics/registry.js';
import { duplicateApprovalNotice, isOverdue, recordedApprovalNotice, selfApprovalRefusal } from '../src/services/approvals/decision.js';
import { utc } from '../src/format.js';

const UNKNOWN = 'This preview is no longer valid: PerpDesk has no record of it (another deployment, or older than 30 days). Run the command again.';

function notices(ctx: CommandContext): ApprovalNotices {
  return new ApprovalNotices({ messageRefs: ctx.messageRefs, notifiers: ctx.notifiers, announcer: ctx.announcer, log: ctx.log, previewEdits: ctx.previewEdits });
}

function clicked(inv: Invocation): { platform: string; chatId: string } {
  return { platform: inv.platform, chatId: inv.chatId };
}

/** Marks an overdue preview expired (if nobody did yet) and says so; the other copies are edited after the answer. */
async function expireNow(ctx: CommandContext, rec: ApprovalRecord, inv: Invocation): Promise<ButtonResult> {
  const t = await ctx.approvals.expire(rec, ctx.now());
  const current = t.ok ? t.record : t.current;
  if (!current) return { notice: UNKNOWN };
  return {
    update: renderApproval(current),
    notice: staleNotice(current),
    ...(t.ok ? { afterAnswer: () => notices(ctx).finalized(current, clicked(inv)) } : {}),
  };
}

/**
 * Edits the other copies to the approval as stored now, once the clicker has been answered. By then the order worker
 * or another click may have moved it on and edited the copies itself: showing the state this click produced would
 * put them back to an older one. The read is queued before the refs are, on the same connection as the worker's, so
 * a later change is always edited after this.
 */
async function showLatest(ctx: CommandContext, rec: ApprovalRecord, inv: Invocation): Promise<void> {
  const latest = await ctx.approvals.get(rec.id);
  await notices(ctx).updated(latest ?? rec, clicked(inv));
}

function overdue(ctx: CommandContext, rec: ApprovalRecord, id: ButtonId): boolean {
  return isOverdue(ctx.now(), rec.expiresAt, id.exp);
}

/** The preview is in the chat it was asked in, and in the chats its copies were posted to (message refs). */
function shownHere(ctx: CommandContext, rec: ApprovalRecord, inv: Invocation): Promise<boolean> {
  return postedHere(ctx, inv, rec.id, { platform: rec.requester.platform, chatId: rec.chatId });
}

/** `reason`: a check turned the order down (counted), rather than the click being out of place. */
async function refuse(ctx: CommandContext, rec: ApprovalRecord, inv: Invocation, why: string, reason?: RefusalReason): Promise<ButtonResult> {
  if (reason) ordersRefusedTotal.inc({ stage: 'approval', reason });
  await ctx.audit.append({ ts: ctx.now(), ...causeOf(personOf(inv)), action: 'order.approval_refused', subject: rec.id, detail: `${why}: ${planWords(rec)}` });
  return { notice: why };
}

/** What deciding a click answered, and the approval as that decision left it when known to be settled. */
interface Decision {
  result: ButtonResult;
  /** Set once the approval is no longer pending (approved, or decided before): later clicks can only be told. */
  settled?: ApprovalRecord;
}

/** A decision being made in this process for one click, and how to tell that click a crowd has joined it. */
interface InFlight {
  decision: Promise<Decision>;
  /** Tells the deciding click, once, that others wait for its decision. */
  crowded(): void;
}

/** Approvals whose Approve click is being decided in this process, per approval store (one per deployment prefix). */
const deciding = new WeakMap<object, Map<string, InFlight>>();

/**
 * Decides a click on an approval; while another click on it is being decided in this process, waits for that
 * decision first. A crowd clicking Approve at once then makes one decision (checks, exchange ticker, approve script)
 * and the others are told what it settled, instead of all but one running every check only to lose in the script.
 * An optimisation only: the approve script's compare-and-set still decides, across processes too. A decision that
 * leaves the approval pending (a refused self-approval, one approval of two) lets the waiting clicks go on together
 * with their own. Every click of such a crowd, the deciding one included, is reported to `progress` as crowded, so
 * the transport can acknowledge each at once instead of after the shared decision.
 */
async function afterDecisionInFlight(ctx: CommandContext, id: ButtonId, inv: Invocation, progress?: ClickProgress): Promise<ButtonResult> {
  let inFlight = deciding.get(ctx.approvals);
  if (!inFlight) deciding.set(ctx.approvals, (inFlight = new Map()));
  const running = inFlight.get(id.ref);
  if (running) {
    running.crowded();
    progress?.crowded();
    const settled = await running.decision.then((d) => d.settled, () => undefined);
    return (await approve(ctx, id, inv, settled)).result;
  }
  let told = false;
  const mine: InFlight = {
    decision: approve(ctx, id, inv),
    crowded: () => {
      if (told) return;
      told = true;
      progress?.crowded();
    },
  };
  inFlight.set(id.ref, mine);
  try {
    return (await mine.decision).result;
  } finally {
    if (inFlight.get(id.ref) === mine) inFlight.delete(id.ref);
  }
}

export const approveButton = defineButton({
  action: APPROVE_ACTION,
  role: 'approver',
  run: afterDecisionInFlight,
});

/** `settled`: the approval as a decision in this process just left it (not pending), instead of reading it again. */
async function approve(ctx: CommandContext, id: ButtonId, inv: Invocation, settled?: ApprovalRecord): Promise<Decision> {
  const rec = settled ?? (await ctx.approvals.get(id.ref));
  if (!rec) return { result: { notice: UNKNOWN } };
  if (!(await shownHere(ctx, rec, inv))) return { result: await refuse(ctx, rec, inv, NOT_POSTED_HERE) };
  if (rec.status !== 'pending') return { result: { update: renderApproval(rec), notice: staleNotice(rec) }, settled: rec };
  if (overdue(ctx, rec, id)) return { result: await expireNow(ctx, rec, inv) };
  const me = personOf(inv);
  const selfRefusal = selfApprovalRefusal(me, asConfigured(ctx, rec.requester), rec.selfApprovalAllowed, ctx.config.ALLOW_SELF_APPROVAL, 'order');
  if (selfRefusal) return { result: await refuse(ctx, rec, inv, selfRefusal, 'self_approval') };
  const blocker = await orderBlocker(rec.plan, ctx);
  if (blocker) {
    return { result: await refuse(ctx, rec, inv, `Approval refused: ${blocker.text}. The preview stays open until ${utc(rec.expiresAt)}.`, blocker.reason) };
  }
  // The status is re-checked inside the approve script; the record read above only supplies what never changes.
  const r = await ctx.approvals.approve(rec, me, ctx.now(), otherKeysOf(ctx, me));
  switch (r.kind) {
    case 'missing':
      return { result: { notice: UNKNOWN } };
    case 'expired':
      return { result: await expireNow(ctx, r.record, inv) };
    case 'conflict':
      return { result: { update: renderApproval(r.record), notice: staleNotice(r.record) }, settled: r.record };
    case 'duplicate':
      return { result: { notice: duplicateApprovalNotice('order', r.count, r.record.required) } };
    case 'recorded':
      return {
        result: {
          update: renderApproval(r.record),
          notice: recordedApprovalNotice(r.count, r.record.required),
          afterAnswer: () => showLatest(ctx, r.record, inv),
        },
      };
    case 'approved': {
      ctx.log.info({ approvalId: rec.id, approvers: r.count }, 'order approved');
      // The approval is persisted, so the order starts now, while the clicker is being answered.
      const queued = ctx.orderQueue.enqueue(rec.id).catch((err: unknown) => {
        // The worker's reconciliation sweep enqueues it again.
        ctx.log.error({ err, approvalId: rec.id }, 'could not enqueue approved order');
      });
      return {
        result: {
          update: renderApproval(r.record),
          notice: 'Approved: placing the order.',
          afterAnswer: async () => {
            await queued;
            await showLatest(ctx, r.record, inv);
          },
        },
        settled: r.record,
      };
    }
  }
}

export const rejectButton = defineButton({
  action: REJECT_ACTION,
  // The requester may withdraw their own preview; otherwise rejecting needs the approver role (checked below).
  role: 'viewer',
  async run(ctx, id, inv) {
    const rec = await ctx.approvals.get(id.ref);
    if (!rec) return { notice: UNKNOWN };
    if (!(await shownHere(ctx, rec, inv))) return refuse(ctx, rec, inv, NOT_POSTED_HERE);
    const me = personOf(inv);
    const mine = samePerson(me, asConfigured(ctx, rec.requester));
    if (!mine && !hasRole(ctx, inv, 'approver')) {
      return { notice: 'You need the approver (PERPDESK_APPROVERS) role to reject an order someone else requested.' };
    }
    if (rec.status !== 'pending') return { update: renderApproval(rec), notice: staleNotice(rec) };
    if (overdue(ctx, rec, id)) return expireNow(ctx, rec, inv);
    const t = await ctx.approvals.transition(rec.id, ['pending'], 'rejected', ctx.now(), {
      action: 'order.rejected',
      detail: `${mine ? 'withdrawn by the requester' : 'rejected'}: ${planWords(rec)}`,
      cause: causeOf(me),
      decidedBy: me.displayName,
      ...(mine ? { reason: 'withdrawn by the requester' } : {}),
    });
    if (!t.ok) return t.current ? { update: renderApproval(t.current), notice: staleNotice(t.current) } : { notice: UNKNOWN };
    return {
      update: renderApproval(t.record),
      notice: 'Rejected: nothing was sent to the exchange.',
      afterAnswer: () => notices(ctx).finalized(t.record, clicked(inv)),
    };
  },
});

export default [approveButton, rejectButton];
