import { defineCommand } from './define.js';
import { personOf } from './order.js';
import { causeOf } from '../src/services/approvals/store.js';
import { utc } from '../src/format.js';

export default defineCommand({
  name: 'pause',
  description: 'Kill switch: block every new order that opens or adds exposure (reduce-only closes still go through)',
  role: 'admin',
  sideEffect: 'control',
  options: [{ name: 'reason', description: 'Why trading is paused (shown to the team)', type: 'string', maxLength: 200 }],
  async run(ctx, args, inv) {
    const now = ctx.now();
    const me = personOf(inv);
    const reason = args.reason ?? 'no reason given';
    const paused = await ctx.killSwitch.pause(me.displayName, reason, now);
    if (!paused) {
      const s = await ctx.killSwitch.state();
      return {
        text: s ? `Trading is already paused by ${s.by} since ${utc(s.at)}: ${s.reason}` : 'Trading is already paused.',
        severity: 'warning',
      };
    }
    await ctx.audit.append({ ts: now, ...causeOf(me), action: 'trading.paused', subject: 'trading', detail: reason });
    ctx.log.warn({ by: me.displayName, platform: me.platform }, 'trading paused');
    const announcement = {
      title: 'Trading paused',
      text: `⏸ Trading paused by ${me.displayName}: ${reason}.\nNew orders that open or add exposure are blocked (previews, approvals and submissions); reduce-only closes still go through with approval. /resume lifts the pause.`,
      severity: 'critical' as const,
    };
    const r = await ctx.announcer.announce('trading_paused', announcement);
    for (const f of r.failed) ctx.log.warn({ ...f.destination, error: f.error }, 'pause announcement not delivered');
    return announcement;
  },
});
