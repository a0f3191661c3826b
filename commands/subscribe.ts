import { defineCommand } from './define.js';
import type { Invocation } from './context.js';
import { DEFAULT_PREFS, type Destination, type DestPrefs, type NotifyMode, type SignalKind } from '../src/services/alerts/types.js';
import { describeModes, describeVenues, parseNotify, parseVenues, withModes } from '../src/services/alerts/prefs.js';
import { UserError } from '../src/errors.js';
import { mayReceiveAlerts } from './access.js';

export const SIGNAL_CHOICES = ['off', 'basis', 'oi', 'all'] as const;

export function destinationOf(inv: Invocation): Destination {
  return inv.platform === 'telegram'
    ? {
        platform: 'telegram',
        chatId: inv.chatId,
        chatType: inv.chatType ?? (inv.chatId.startsWith('-') ? 'group' : 'private'),
        ...(inv.threadId === undefined ? {} : { threadId: inv.threadId }),
      }
    : { platform: inv.platform, chatId: inv.chatId };
}

/**
 * `/subscribe [symbol|all] [min_severity] [signals] [notify] [venues]`: this chat receives alerts (all symbols and
 * severities by default) and each kind at its mode (`on`, `silent`, `off`; DEFAULT_MODES until the chat chooses).
 * Without options it also shows what the chat receives. In the team alert channel it only sets the filters (that
 * channel always receives alerts). Everything typed is checked before anything is stored: a bad value changes nothing.
 */
export default defineCommand({
  name: 'subscribe',
  description: 'Receive alerts in this chat and show what it gets; filters: symbol, severity, notify modes, venues',
  role: 'viewer',
  sideEffect: 'none',
  options: [
    { name: 'symbol', description: 'Only this perpetual (or "all")', type: 'string', maxLength: 40 },
    { name: 'min_severity', description: 'Lowest severity to receive', type: 'string', choices: ['info', 'warning', 'critical'] },
    { name: 'signals', description: 'Informational basis / OI signals (off by default)', type: 'string', choices: SIGNAL_CHOICES },
    { name: 'notify', description: 'Per kind on, silent or off, e.g. risk=on,order=silent,harvester=off', type: 'string', maxLength: 400 },
    { name: 'venues', description: 'Only alerts about these venues, e.g. desk,bybit (or "all")', type: 'string', maxLength: 200 },
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
    const before = prior?.prefs ?? DEFAULT_PREFS;
    // On the text transports `/subscribe risk=on,order=silent` arrives as the first positional value, the symbol.
    let symbolArg = args.symbol;
    let notifyArg = args.notify;
    if (symbolArg?.includes('=')) {
      notifyArg = notifyArg ? `${symbolArg},${notifyArg}` : symbolArg;
      symbolArg = undefined;
    }
    let symbols: string[] | null = before.symbols;
    if (symbolArg !== undefined) {
      symbols = symbolArg.trim().toLowerCase() === 'all' ? null : [(await ctx.market.resolve(symbolArg)).symbol];
    }
    let modes = before.modes;
    if (args.signals !== undefined) modes = withModes(modes, signalModes(args.signals));
    if (notifyArg !== undefined) modes = withModes(modes, parseNotify(notifyArg));
    const venues = args.venues === undefined ? before.venues : parseVenues(args.venues, { marketVenues: ctx.config.MARKET_VENUES, exchange: ctx.config.EXCHANGE });
    const prefs: DestPrefs = { symbols, minSeverity: args.min_severity ?? before.minSeverity, modes, venues };
    await ctx.subscriptions.subscribe(dest, prefs, inv.actor.displayName, ctx.now());
    const changed = Object.values(args).some((v) => v !== undefined);
    const shown = describeModes(prefs);
    const teamChat = dest.platform === 'telegram' && dest.chatId === ctx.config.TELEGRAM_ALERT_CHAT_ID;
    const where = dest.platform !== 'telegram' || teamChat
      ? ''
      : dest.threadId === undefined
        ? 'Alerts come to this chat (in a forum: its General topic; run /subscribe inside a topic to move them there). '
        : 'Alerts come to this topic (run /subscribe in another topic to move them). ';
    return {
      title: !prior ? 'Subscribed to alerts' : changed ? 'Alert filters updated' : 'Alert settings',
      fields: [
        { name: 'Symbols', value: prefs.symbols ? prefs.symbols.join(', ') : 'all', inline: true },
        { name: 'Minimum severity', value: prefs.minSeverity, inline: true },
        { name: 'Venues', value: describeVenues(prefs.venues, ctx.config.EXCHANGE), inline: true },
        { name: 'On', value: shown.on },
        { name: 'Silent (no sound or push)', value: shown.silent },
        { name: 'Off', value: shown.off },
      ],
      text:
        where +
        'Change with notify, e.g. /subscribe notify:risk=on,order=silent,harvester=off (kinds, or the groups risk, market, watchdog, all). ' +
        '* = chosen here, the rest follow the defaults. Critical alerts ring even when their kind is silent; trading paused/resumed always comes through. /unsubscribe stops alerts here.',
      severity: 'success',
    };
  },
});

function signalModes(choice: (typeof SIGNAL_CHOICES)[number]): Partial<Record<SignalKind, NotifyMode>> {
  return { basis: choice === 'basis' || choice === 'all' ? 'on' : 'off', oi: choice === 'oi' || choice === 'all' ? 'on' : 'off' };
}
