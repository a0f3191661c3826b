/**
 * `/approvals`: order approvals that are not final yet (pending, approved, being placed), oldest first. On the
 * console it also offers Approve / Reject again for each pending one, because console buttons live in the process's
 * memory and are gone after a restart; on Discord and Telegram the original preview keeps its buttons.
 */
import { defineCommand } from './define.js';
import { compactUsd, qty, utc } from '../src/format.js';
import { encodeButtonId } from '../src/chat/button-id.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../src/services/approvals/render.js';
import type { ReplyButton } from '../src/chat/reply.js';

/** Enough rows for a desk's open orders; older ones are counted, not shown. */
const MAX_ROWS = 20;

export default defineCommand({
  name: 'approvals',
  description: 'Order approvals not final yet; on the console, Approve / Reject again',
  role: 'viewer',
  sideEffect: 'none',
  options: [],
  async run(ctx, _args, inv) {
    const ids = await ctx.approvals.openIds();
    const records = (await Promise.all(ids.slice(0, MAX_ROWS).map((id) => ctx.approvals.get(id)))).filter((r) => r !== null);
    if (!records.length) return { title: 'Open approvals', text: 'No open approvals.', severity: 'info' };
    const now = ctx.now();
    const buttons: ReplyButton[] = [];
    if (inv.platform === 'console') {
      for (const r of records) {
        if (r.status !== 'pending' || r.expiresAt <= now) continue;
        const exp = Math.ceil(r.expiresAt / 1000);
        buttons.push(
          { id: encodeButtonId({ action: APPROVE_ACTION, ref: r.id, exp }), label: `Approve ${r.id}`, style: 'success' },
          { id: encodeButtonId({ action: REJECT_ACTION, ref: r.id, exp }), label: `Reject ${r.id}`, style: 'danger' },
        );
      }
    }
    const more = ids.length - records.length;
    return {
      title: `Open approvals: ${ids.length}`,
      table: {
        headers: ['Approval', 'Status', 'Order', 'Notional', 'Requested by', 'Expires (UTC)'],
        rows: records.map((r) => [
          r.id,
          r.status,
          `${r.plan.kind === 'close' ? 'close ' : ''}${r.plan.symbol} ${r.plan.side} ${qty(r.plan.quantity, r.plan.lotSize)} ${r.plan.base} ${r.plan.orderType}`,
          compactUsd(r.plan.notional),
          r.requester.displayName,
          r.status === 'pending' ? utc(r.expiresAt).replace(' UTC', '') : '—',
        ]),
      },
      text: [
        more > 0 ? `${more} more not shown.` : '',
        buttons.length ? 'Type a button label (e.g. "Approve <id>") to act on a pending approval.' : '',
      ].filter(Boolean).join('\n') || undefined,
      buttons,
      severity: 'info',
    };
  },
});
