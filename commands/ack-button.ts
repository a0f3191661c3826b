/**
 * The Acknowledge button of critical alerts (`pd1:ack:<incident ref>:<exp>`): records who took the incident (first
 * click wins, audited) and refreshes the alert's messages in every chat without the button.
 */
import { defineButton } from './define.js';
import { personOf } from './order.js';
import { causeOf } from '../src/services/approvals/store.js';
import { ACK_ACTION, renderAlert } from '../src/services/alerts/render.js';
import { utc } from '../src/format.js';

export default defineButton({
  action: ACK_ACTION,
  role: 'viewer',
  async run(ctx, id, inv) {
    const now = ctx.now();
    if (id.exp > 0 && now > id.exp * 1000) return { notice: 'This alert is too old to acknowledge.' };
    const me = personOf(inv);
    const r = await ctx.alerts.acknowledge(id.ref, me.displayName, now, { platform: inv.platform, chatId: inv.chatId });
    if (!r.ok && r.reason === 'unknown') return { notice: 'PerpDesk no longer tracks this alert.' };
    if (!r.ok && r.reason === 'already') {
      const alert = await ctx.alerts.incident(id.ref);
      return { update: alert ? renderAlert(alert, r.ack) : undefined, notice: `Already acknowledged by ${r.ack.by} at ${utc(r.ack.at)}.` };
    }
    if (!r.ok) return { notice: 'PerpDesk no longer tracks this alert.' };
    await ctx.audit.append({ ts: now, ...causeOf(me), action: 'alert.acknowledged', subject: id.ref, detail: r.alert.title });
    return { update: renderAlert(r.alert, r.ack), notice: 'Acknowledged: the team sees that you are on it.' };
  },
});
