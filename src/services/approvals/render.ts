/** How an approval looks to people: the preview message in each state, the "order" alert, and stale-click notes. */
import type { Reply, Severity } from '../../chat/reply.js';
import { encodeButtonId } from '../../chat/button-id.js';
import { multiple, price as fmtPrice, qty as fmtQty, utc } from '../../format.js';
import type { ApprovalRecord } from './types.js';
import { approverNames } from './decision.js';

export const APPROVE_ACTION = 'ap';
export const REJECT_ACTION = 'rj';

export function names(rec: ApprovalRecord): string {
  return approverNames(rec.approvers);
}

function fillText(rec: ApprovalRecord): string {
  const r = rec.result;
  const p = rec.plan;
  if (!r || r.avgPrice === null) return 'Filled';
  const partial = r.filledQuantity + 1e-12 < p.quantity ? ` (partial: ${fmtQty(r.filledQuantity, p.lotSize)} of ${fmtQty(p.quantity, p.lotSize)} ${p.base})` : ` (${fmtQty(r.filledQuantity, p.lotSize)} ${p.base})`;
  return `Filled at ${fmtPrice(r.avgPrice, p.tickSize)}${partial}`;
}

/** "Cancelled by Ann (filled 0.2 of 0.5 BTC at 65,000.0 before the cancel)". */
export function canceledText(rec: ApprovalRecord): string {
  const r = rec.result;
  const p = rec.plan;
  const by = `Cancelled by ${rec.decidedBy ?? 'unknown'}`;
  if (!r || !(r.filledQuantity > 0)) return `${by} (nothing had filled)`;
  const at = r.avgPrice === null ? '' : ` at ${fmtPrice(r.avgPrice, p.tickSize)}`;
  return `${by} (filled ${fmtQty(r.filledQuantity, p.lotSize)} of ${fmtQty(p.quantity, p.lotSize)} ${p.base}${at} before the cancel; that part stays open)`;
}

function statusLine(rec: ApprovalRecord): { text: string; severity: Severity } {
  switch (rec.status) {
    case 'pending':
      return {
        text: `⏳ Awaiting approval: ${rec.approvers.length} of ${rec.required}${rec.approvers.length ? ` (${names(rec)})` : ''}. Expires ${utc(rec.expiresAt)}.`,
        severity: 'info',
      };
    case 'approved':
      return { text: `👍 Approved by ${names(rec)}: placing the order…`, severity: 'info' };
    case 'submitted':
      if (rec.result?.status === 'partially_filled') {
        const p = rec.plan;
        return { text: `📌 Approved by ${names(rec)}: order ${rec.result.orderId} filled ${fmtQty(rec.result.filledQuantity, p.lotSize)} of ${fmtQty(p.quantity, p.lotSize)} ${p.base}; the rest is open on the book.`, severity: 'info' };
      }
      return rec.result?.status === 'new'
        ? { text: `📌 Approved by ${names(rec)}: order ${rec.result.orderId} is resting on the book.`, severity: 'info' }
        : { text: `📤 Approved by ${names(rec)}: sent to the exchange…`, severity: 'info' };
    case 'canceling':
      return { text: `🛑 Approved by ${names(rec)}; ${rec.decidedBy ?? 'someone'} is cancelling the resting order…`, severity: 'info' };
    case 'filled':
      return { text: `✅ ${fillText(rec)}. Approved by ${names(rec)}.`, severity: 'success' };
    case 'failed':
      return { text: `❌ Failed: ${rec.reason ?? 'unknown reason'}.`, severity: 'critical' };
    case 'canceled':
      return { text: `🛑 ${canceledText(rec)}. Approved by ${names(rec)}.`, severity: 'warning' };
    case 'rejected':
      return { text: `🚫 Rejected by ${rec.decidedBy ?? 'unknown'}${rec.reason ? `: ${rec.reason}` : ''}.`, severity: 'warning' };
    case 'expired':
      return { text: `⌛ Expired at ${utc(rec.expiresAt)} without ${rec.required > 1 ? `${rec.required} approvals` : 'approval'}.`, severity: 'warning' };
  }
}

/** The preview message for the approval's current state; Approve/Reject buttons only while it is pending. */
export function renderApproval(rec: ApprovalRecord): Reply {
  const s = statusLine(rec);
  const exp = Math.ceil(rec.expiresAt / 1000);
  const selfNote = rec.selfApprovalAllowed ? 'self-approval allowed' : 'the requester cannot approve';
  return {
    title: rec.view.title,
    fields: rec.view.fields.map((f) => ({ ...f })),
    text: `${s.text}\n\n${rec.view.text}`,
    severity: s.severity,
    buttons: rec.status === 'pending'
      ? [
          { id: encodeButtonId({ action: APPROVE_ACTION, ref: rec.id, exp }), label: 'Approve', style: 'success' },
          { id: encodeButtonId({ action: REJECT_ACTION, ref: rec.id, exp }), label: 'Reject', style: 'danger' },
        ]
      : [],
    footer: `Approval ${rec.id} · requested by ${rec.requester.displayName} · needs ${rec.required} approver(s), ${selfNote}`,
  };
}

/** The "order" alert (interfaces.md §4): symbol, side, quantity, price, who requested and who approved. */
export function orderAlert(rec: ApprovalRecord): Reply {
  const p = rec.plan;
  const q = `${fmtQty(rec.result?.filledQuantity || p.quantity, p.lotSize)} ${p.base}`;
  const what = `${p.symbol} ${p.side} (${p.kind === 'close' ? `close ${p.positionSide}` : p.positionSide}) ${q}`;
  const who = `Requested by ${rec.requester.displayName}; approved by ${names(rec)}.`;
  if (rec.status === 'filled') {
    const at = rec.result?.avgPrice != null ? fmtPrice(rec.result.avgPrice, p.tickSize) : 'unknown price';
    return { title: `Order filled: ${p.symbol}`, text: `Order filled: ${what} at ${at}, ${multiple(p.leverage)}. ${who}`, severity: 'success', footer: `Approval ${rec.id}` };
  }
  const limit = p.price !== null ? `limit ${fmtPrice(p.price, p.tickSize)}` : `market (mark was ${fmtPrice(p.refMark, p.tickSize)})`;
  return { title: `Order failed: ${p.symbol}`, text: `Order failed: ${what}, ${limit}: ${rec.reason ?? 'unknown reason'}. ${who}`, severity: 'critical', footer: `Approval ${rec.id}` };
}

/** What a click on a decided preview answers, e.g. "This preview is no longer valid: it was approved by X." */
export function staleNotice(rec: ApprovalRecord): string {
  const head = 'This preview is no longer valid:';
  switch (rec.status) {
    case 'pending':
      return `${head} it is still pending.`;
    case 'approved':
    case 'submitted':
      return `${head} it was approved by ${names(rec)}; the order is being placed.`;
    case 'filled':
      return `${head} it was approved by ${names(rec)} and ${fillText(rec).toLowerCase()}.`;
    case 'canceling':
      return `${head} it was approved by ${names(rec)}; its resting order is being cancelled by ${rec.decidedBy ?? 'someone'}.`;
    case 'failed':
      return `${head} it was approved by ${names(rec)} and failed: ${rec.reason ?? 'unknown reason'}.`;
    case 'canceled':
      return `${head} it was approved by ${names(rec)}; ${canceledText(rec).charAt(0).toLowerCase()}${canceledText(rec).slice(1)}.`;
    case 'rejected':
      return `${head} it was rejected by ${rec.decidedBy ?? 'unknown'}${rec.reason ? ` (${rec.reason})` : ''}.`;
    case 'expired':
      return `${head} it expired at ${utc(rec.expiresAt)}. Run the command again for a fresh preview.`;
  }
}
