/** How a flatten looks to people: its preview message in each state, and the leg-by-leg report. */
import type { Reply, Severity } from '../../chat/reply.js';
import { encodeButtonId } from '../../chat/button-id.js';
import { clipLines, utc } from '../../format.js';
import { approverNames } from '../approvals/decision.js';
import type { FlattenLeg, FlattenRecord } from './types.js';

export const FLATTEN_APPROVE = 'flok';
export const FLATTEN_REJECT = 'flno';

function legsDone(legs: readonly FlattenLeg[] | null): string {
  if (!legs) return '';
  const done = legs.filter((l) => l.status === 'done' || l.status === 'skipped' || l.status === 'failed').length;
  return ` (${done} of ${legs.length} legs)`;
}

function statusLine(rec: FlattenRecord, legs: readonly FlattenLeg[] | null): { text: string; severity: Severity } {
  const names = approverNames(rec.approvers);
  switch (rec.status) {
    case 'pending':
      return { text: `⏳ Awaiting approval: ${rec.approvers.length} of ${rec.required}${rec.approvers.length ? ` (${names})` : ''}. Expires ${utc(rec.expiresAt)}.`, severity: 'warning' };
    case 'approved':
      return { text: `👍 Approved by ${names}: flattening…`, severity: 'warning' };
    case 'executing':
      return { text: `🚨 Approved by ${names}: flattening${legsDone(legs)}…`, severity: 'warning' };
    case 'done':
      return { text: `✅ Flattened: ${rec.result ?? 'every leg done'}. Approved by ${names}.`, severity: 'success' };
    case 'failed':
      return { text: `❌ Flatten finished with failures: ${rec.result ?? 'see the report'}. Approved by ${names}.`, severity: 'critical' };
    case 'rejected':
      return { text: `🚫 Rejected by ${rec.decidedBy ?? 'unknown'}${rec.endReason ? `: ${rec.endReason}` : ''}.`, severity: 'info' };
    case 'expired':
      return { text: `⌛ Expired at ${utc(rec.expiresAt)} without ${rec.required > 1 ? `${rec.required} approvals` : 'approval'}.`, severity: 'info' };
  }
}

export function renderFlatten(rec: FlattenRecord, legs: readonly FlattenLeg[] | null = null): Reply {
  const s = statusLine(rec, legs);
  const exp = Math.ceil(rec.expiresAt / 1000);
  const report = legs && (rec.status === 'done' || rec.status === 'failed') ? `\n\n${clipLines(legs.map(legLine), 2_000, (n) => `… and ${n} more legs (/audit lists each)`)}` : '';
  return {
    title: rec.view.title,
    fields: rec.view.fields.map((f) => ({ ...f })),
    text: `${s.text}\n\n${rec.view.text}${report}`,
    severity: s.severity,
    buttons: rec.status === 'pending'
      ? [
          { id: encodeButtonId({ action: FLATTEN_APPROVE, ref: rec.id, exp }), label: 'Approve', style: 'danger' },
          { id: encodeButtonId({ action: FLATTEN_REJECT, ref: rec.id, exp }), label: 'Reject', style: 'secondary' },
        ]
      : [],
    footer: `Flatten ${rec.id} · requested by ${rec.requester.displayName} · needs ${rec.required} approver(s), ${rec.selfApprovalAllowed ? 'self-approval allowed' : 'the requester cannot approve'}`,
  };
}

const MARK: Record<FlattenLeg['status'], string> = { planned: '…', sending: '…', done: '✅', skipped: '➖', failed: '❌' };

/** One leg of the report: what it was, and what was done or why it failed. */
export function legLine(l: FlattenLeg): string {
  const what = l.kind === 'cancel'
    ? `Cancel ${l.orderId ?? l.clientOrderId} ${l.symbol}`
    : `Close ${l.positionSide ? `${l.positionSide} ${l.positionSize ?? ''} ` : ''}${l.symbol}${l.request ? ` (${l.request.orderType} ${l.request.side} ${l.request.quantity}, reduce-only, ${l.clientOrderId})` : ''}`;
  return `${MARK[l.status]} ${l.index + 1}. ${what}: ${l.note ?? l.status}`;
}

/** The report announced to the alert destinations when a flatten is done. */
export function flattenReport(rec: FlattenRecord, legs: readonly FlattenLeg[], status: 'done' | 'failed', summary: string): Reply {
  return {
    title: status === 'done' ? 'Flatten done' : 'Flatten finished with failures',
    // An alert holds 3,000 characters: failed legs first, so a long report never hides one; /audit keeps every leg.
    text: `${status === 'done' ? '✅' : '❌'} Flatten ${rec.id} (${rec.reason.slice(0, 200)}), requested by ${rec.requester.displayName}, approved by ${approverNames(rec.approvers)}: ${summary}.\n${clipLines(
      [...legs.filter((l) => l.status === 'failed'), ...legs.filter((l) => l.status !== 'failed')].map(legLine), 2_400, (n) => `… and ${n} more legs (/audit lists each)`,
    )}`,
    severity: status === 'done' ? 'success' : 'critical',
    footer: `Flatten ${rec.id}`,
  };
}

export function staleFlattenNotice(rec: FlattenRecord): string {
  const head = 'This flatten is no longer open for a decision:';
  switch (rec.status) {
    case 'pending':
      return `${head} it is still pending.`;
    case 'approved':
    case 'executing':
      return `${head} it was approved by ${approverNames(rec.approvers)} and is running.`;
    case 'done':
    case 'failed':
      return `${head} it was approved by ${approverNames(rec.approvers)} and has run (${rec.status}).`;
    case 'rejected':
      return `${head} it was rejected by ${rec.decidedBy ?? 'unknown'}.`;
    case 'expired':
      return `${head} it expired at ${utc(rec.expiresAt)}. Run /flatten again for a fresh preview.`;
  }
}
