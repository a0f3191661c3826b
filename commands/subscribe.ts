import { defineCommand } from './define.js';
import type { Invocation } from './context.js';
import type { Destination, DestPrefs, SignalKind } from '../src/services/alerts/types.js';
import { UserError } from '../src/errors.js';
import { mayReceiveAlerts } from './access.js';

export const SIGNAL_CHOICES = ['off', 'basis', 'oi', 'all'] as const;

export function destinationOf(inv: Invocation): Destination {
  return inv.platform === 'telegram'
    ? { platform: 'telegram', chatId: inv.chatId, chatType: inv.chatType ?? (inv.chatId.startsWith('-') ? 'group' : 'private') }
    : { platform: inv.platform, chatId: inv.chatId };
}

function signalsOf(choice: (typeof SIGNAL_CHOICES)[number] | undefined, prior: SignalKind[]): SignalKind[] {
  if (choice === undefined) return prior;
  if (choice === 'all') return ['basis', 'oi'];
  if (choice === 'off') return [];
  return [choice];
}

/**
 * `/subscribe [symbol|all] [min_severity] [signals]`: this chat receives alerts (all symbols and severities by
 * default). Basis and OI signals are informational and stay off unless `signals` switches them on. In the team
 * alert channel it only sets the filters (that channel always receives alerts).
 */
export default defineCommand({
  name: 'subscribe',
  description: 'Receive alerts in this chat; optional filters: symbol, minimum severity, basis/OI signals',
  role: 'viewer',
  sideEffect: 'none',
  options: [
    { name: 'symbol', description: 'Only this perpetual (or "all")', type: 'string', maxLength: 40 },
    { name: 'min_severity', description: 'Lowest severity to receive', type: 'string', choices: ['info', 'warning', 'critical'] },
    { name: 'signals', description: 'Informational basis / OI signals (off by default)', type: 'string', choices: SIGNAL_CHOICES },
  ],
  async run(ctx, args, inv) {
    if (!(await mayReceiveAlerts(ctx, inv))) {
      const chat = inv.platform === 'discord' ? `discord-channel:${inv.chatId}` : `${inv.platform}:${inv.chatId}`;
      throw new UserError(
        'chat_not_allowed',
        `Alerts go only to the team's chats, and this one is not listed: subscribe in a private chat with the bot, or ask the team to add ${chat} to PERPDESK_CHATS.`,
      );
    }
    const dest = destinationOf(inv);
    const prior = await ctx.subscriptions.get(dest);
    let symbols: string[] | null = prior?.prefs.symbols ?? null;
    if (args.symbol !== undefined) {
      symbols = args.symbol.trim().toLowerCase() === 'all' ? null : [(await ctx.market.resolve(args.symbol)).symbol];
    }
    const prefs: DestPrefs = {
      symbols,
      minSeverity: args.min_severity ?? prior?.prefs.minSeverity ?? 'info',
      signals: signalsOf(args.signals, prior?.prefs.signals ?? []),
    };
    await ctx.subscriptions.subscribe(dest, prefs, inv.actor.displayName, ctx.now());
    return {
      title: prior ? 'Alert filters updated' : 'Subscribed to alerts',
      fields: [
        { name: 'Symbols', value: prefs.symbols ? prefs.symbols.join(', ') : 'all', inline: true },
        { name: 'Minimum severity', value: prefs.minSeverity, inline: true },
        { name: 'Signals', value: prefs.signals.length ? prefs.signals.join(', ') : 'off (basis / OI signals not sent)', inline: true },
      ],
      text: 'Trading paused/resumed announcements always come through. /unsubscribe stops alerts here.',
      severity: 'success',
    };
  },
});
