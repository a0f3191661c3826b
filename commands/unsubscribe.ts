import { defineCommand } from './define.js';
import { destinationOf } from './subscribe.js';

export default defineCommand({
  name: 'unsubscribe',
  description: 'Stop alerts in this chat',
  role: 'viewer',
  sideEffect: 'none',
  options: [],
  async run(ctx, _args, inv) {
    const dest = destinationOf(inv);
    const team =
      (dest.platform === 'discord' && dest.chatId === ctx.config.DISCORD_ALERT_CHANNEL_ID) ||
      (dest.platform === 'telegram' && dest.chatId === ctx.config.TELEGRAM_ALERT_CHAT_ID) ||
      dest.platform === 'console';
    const was = await ctx.subscriptions.unsubscribe(dest);
    if (team) {
      return {
        text: `This is a team alert destination (set in the configuration), so alerts keep coming here${was ? '; its filters are reset to the defaults' : ''}. Use /subscribe min_severity:critical, or notify:order=off,harvester=off (kinds on, silent or off), to receive fewer.`,
        severity: 'warning',
      };
    }
    return { text: was ? 'Unsubscribed: this chat no longer receives alerts.' : 'This chat was not subscribed.', severity: was ? 'success' : 'info' };
  },
});
