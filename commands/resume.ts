import { defineCommand } from './define.js';
import { personOf } from './order.js';
import { causeOf } from '../src/services/approvals/store.js';
import { utc } from '../src/format.js';

export default defineCommand({
  name: 'resume',
  description: 'Lift a trading pause',
  role: 'admin',
  sideEffect: 'control',
  options: [],
  async run(ctx, _args, inv) {
    const now = ctx.now();
    const me = personOf(inv);
    const lifted = await ctx.killSwitch.resume();
    if (!lifted) return { text: 'Trading is not paused.', severity: 'info' };
    await ctx.audit.append({
      ts: now, ...causeOf(me), action: 'trading.resumed', subject: 'trading',
      detail: `lifted the pause set by ${lifted.by} at ${utc(lifted.at)} (${lifted.reason})`,
    });
    ctx.log.warn({ by: me.displayName, platform: me.platform }, 'trading resumed');
    const announcement = {
      title: 'Trading resumed',
      text: `▶ Trading resumed by ${me.displayName}. It was paused by ${lifted.by} since ${utc(lifted.at)}: ${lifted.reason}.`,
      severity: 'success' as const,
    };
    const r = await ctx.announcer.announce('trading_resumed', announcement);
    for (const f of r.failed) ctx.log.warn({ ...f.destination, error: f.error }, 'resume announcement not delivered');
    return announcement;
  },
});
