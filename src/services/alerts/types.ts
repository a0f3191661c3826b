import { z } from 'zod';

/**
 * What an alert is (interfaces.md §4) and where it can go. Alerts travel through Redis (BullMQ job data), so
 * everything here is a zod schema parsed on the way out of the queue.
 */

export const ALERT_KINDS = [
  'cascade',
  'liquidation_risk',
  'leverage',
  'funding_against',
  'funding_reminder',
  'harvester',
  'trading',
  'order',
  'basis',
  'oi',
  /** A chat's own `/alert` rule crossed (issue 16). */
  'rule',
  /** A position changed without a PerpDesk order: liquidation, ADL, outside close or open (issue 18). */
  'position',
  /** A market-data feed went stale or recovered (issue 18). */
  'stale',
  /** A process or job scheduler stopped beating (dead man's switch, issue 18). */
  'heartbeat',
  /** The daily PnL and funding summary (issue 16). */
  'summary',
  /** A `POST /signals` webhook asked for an order: a preview with Approve / Reject (issue 16). */
  'signal',
] as const;
export const AlertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKind>;

/** Informational market signals: off by default for every destination, switched on with `/subscribe`. */
export const SIGNAL_KINDS = ['basis', 'oi'] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

export const AlertSeverity = z.enum(['info', 'success', 'warning', 'critical']);
export type AlertSeverity = z.infer<typeof AlertSeverity>;

/** Rank used by `min_severity` filters; a success ("it is over") ranks like info unless the alert says otherwise. */
export const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 0, success: 0, warning: 1, critical: 2 };

export const MinSeverity = z.enum(['info', 'warning', 'critical']);
export type MinSeverity = z.infer<typeof MinSeverity>;

const Field = z.object({ name: z.string(), value: z.string(), inline: z.boolean().optional() });

export const Alert = z.object({
  /** De-duplication key: the same key within `cooldownMs` is published once. */
  key: z.string().min(1).max(200),
  kind: AlertKind,
  severity: AlertSeverity,
  symbol: z.string().max(40).optional(),
  /** The real venue (ccxt id) the alert is about; absent = the desk's own exchange (issue 17). */
  venue: z.string().max(40).optional(),
  title: z.string().min(1).max(256),
  text: z.string().max(3000).optional(),
  fields: z.array(Field).max(20).optional(),
  /**
   * Follow-ups of one incident (an escalation, a worse buffer, an acknowledgement) edit the message the
   * incident first produced in each chat instead of posting a new one.
   */
  incident: z.string().max(200).optional(),
  /** Severity for destination filters when it differs from the display one ("cascade over" follows the cascade). */
  filterSeverity: AlertSeverity.optional(),
  /** Only edit messages the incident already has; never post (acknowledgement refreshes). */
  editOnly: z.boolean().optional(),
  /** Default 10 minutes (domain.md §7 cooldown). */
  cooldownMs: z.number().int().positive().optional(),
  /** Action buttons (e.g. a harvester proposal's Approve / Reject); encoded as `pd1:<action>:<ref>:<exp>`. */
  buttons: z
    .array(z.object({ action: z.string().regex(/^[a-z]{1,8}$/), ref: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/), exp: z.number().int().nonnegative(), label: z.string().max(40), style: z.enum(['primary', 'secondary', 'success', 'danger']) }))
    .max(5)
    .optional(),
  /**
   * Only this chat receives the alert, whatever the subscriptions and filters say (a chat's own `/alert` rule);
   * absent = every destination that wants it. (Lazy: Destination is declared below.)
   */
  to: z.lazy(() => Destination).optional(),
  /** Epoch ms when the condition was seen. */
  at: z.number(),
});
export type Alert = z.infer<typeof Alert>;
/** What callers pass: `at` defaults to the service clock. */
export type AlertInput = Omit<Alert, 'at'> & { at?: number };

export const Platform = z.enum(['discord', 'telegram', 'console']);
export type AlertPlatform = z.infer<typeof Platform>;

export const Destination = z.object({
  platform: Platform,
  chatId: z.string().min(1).max(40),
  /** Telegram pacing differs for private chats and groups. */
  chatType: z.enum(['private', 'group']).optional(),
});
export type Destination = z.infer<typeof Destination>;

export function destKey(d: Destination): string {
  return `${d.platform}:${d.chatId}`;
}

/** Telegram group and channel ids are negative; private chats positive. */
export function telegramChatType(chatId: string): 'private' | 'group' {
  return chatId.startsWith('-') ? 'group' : 'private';
}

export const DestPrefs = z.object({
  /** null = every symbol. */
  symbols: z.array(z.string()).nullable(),
  minSeverity: MinSeverity,
  signals: z.array(z.enum(SIGNAL_KINDS)),
});
export type DestPrefs = z.infer<typeof DestPrefs>;

export const DEFAULT_PREFS: DestPrefs = { symbols: null, minSeverity: 'info', signals: [] };

/** Whether a destination with these preferences wants this alert. */
export function wants(prefs: DestPrefs, a: Alert): boolean {
  if ((SIGNAL_KINDS as readonly string[]).includes(a.kind)) {
    if (!prefs.signals.includes(a.kind as SignalKind)) return false;
  }
  // Pause/resume concern every market and every filter: a muted chat must still learn that trading stopped.
  if (a.kind === 'trading') return true;
  if (a.symbol && prefs.symbols && !prefs.symbols.includes(a.symbol)) return false;
  return SEVERITY_RANK[a.filterSeverity ?? a.severity] >= SEVERITY_RANK[prefs.minSeverity];
}

/**
 * Kinds whose news must not wait behind routine alerts. Both ends of an incident ride in this lane ("trading
 * resumed" with "trading paused", "cascade over" with the cascade), so a chat never shows them the wrong way round.
 */
export const URGENT_KINDS: readonly AlertKind[] = ['cascade', 'liquidation_risk', 'trading'];

/** Urgent alerts go ahead of the rest in every outbox and are never merged into a digest. */
export function isUrgent(a: Alert): boolean {
  return URGENT_KINDS.includes(a.kind) || a.severity === 'critical' || a.filterSeverity === 'critical';
}
