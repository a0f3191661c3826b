import { z } from 'zod';
import { ALERT_KINDS, NOTIFY_MODES } from '../../chat/alert-kinds.js';

/**
 * What an alert is (interfaces.md §4) and where it can go. Alerts travel through Redis (BullMQ job data), so
 * everything here is a zod schema parsed on the way out of the queue.
 */

// The kinds are the routing vocabulary people type (`/subscribe notify:…`, TELEGRAM_ALERT_CHAT_ID topics), so they
// live in src/chat, where the configuration can read them too.
export { ALERT_KINDS, KIND_GROUPS, NOTIFY_MODES } from '../../chat/alert-kinds.js';
export const AlertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKind>;

/** Informational market signals: off by default for every destination, switched on with `/subscribe` (`signals` or `notify`). */
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
  /**
   * Also track where this alert's messages land under this message-ref track (an order preview's approval id), so
   * the approval's later states edit them and its Approve / Reject clicks count there.
   */
  track: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/).optional(),
  /**
   * A picture sent with the alert (the daily summary's chart). Job data stays small: the PNG waits in Redis under
   * `key` (with a TTL) and delivery attaches it; an alert with an image is never merged into a digest.
   */
  image: z.object({ key: z.string().min(1).max(200), filename: z.string().min(1).max(100), alt: z.string().max(300).optional() }).optional(),
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
  /**
   * A forum topic the chat subscribed from (Telegram message_thread_id): its alerts go there. The team alert chat
   * routes by kind instead (TELEGRAM_ALERT_CHAT_ID topics).
   */
  threadId: z.number().int().positive().optional(),
});
export type Destination = z.infer<typeof Destination>;

export function destKey(d: Destination): string {
  return `${d.platform}:${d.chatId}`;
}

/** Telegram group and channel ids are negative; private chats positive. */
export function telegramChatType(chatId: string): 'private' | 'group' {
  return chatId.startsWith('-') ? 'group' : 'private';
}

export const NotifyMode = z.enum(NOTIFY_MODES);
export type NotifyMode = z.infer<typeof NotifyMode>;

/**
 * What each kind does in a destination that never chose (README "Alert routing" shows this table). What threatens
 * money now rings; routine news the team reads at leisure (fills, harvester decisions, reminders, the daily summary)
 * arrives silently; the informational basis / OI signals stay off until a chat asks for them.
 */
export const DEFAULT_MODES: Readonly<Record<AlertKind, NotifyMode>> = {
  cascade: 'on',
  liquidation_risk: 'on',
  leverage: 'on',
  funding_against: 'on',
  funding_reminder: 'silent',
  harvester: 'silent',
  // Pause and resume always ring and can be neither silenced nor switched off: a chat that missed "trading paused"
  // would act on a desk that no longer trades (see LOCKED_KINDS).
  trading: 'on',
  order: 'silent',
  basis: 'off',
  oi: 'off',
  rule: 'on',
  position: 'on',
  stale: 'on',
  heartbeat: 'on',
  summary: 'silent',
  // An order preview someone's webhook asked for waits for an approver: it should be seen.
  signal: 'on',
};

/** Kinds whose mode is fixed at `on`. */
export const LOCKED_KINDS: readonly AlertKind[] = ['trading'];

/** `venues` entry for the desk's own exchange (alerts without `venue`). */
export const DESK_VENUE = 'desk';

const PrefsShape = z.object({
  /** null = every symbol. */
  symbols: z.array(z.string()).nullable(),
  minSeverity: MinSeverity,
  /** Only the modes this destination chose; every other kind follows DEFAULT_MODES. */
  modes: z.partialRecord(AlertKind, NotifyMode),
  /** null = every venue; else ccxt ids and/or DESK_VENUE. Alerts about no market (heartbeat, pause) always pass. */
  venues: z.array(z.string()).nullable(),
});

/**
 * Destination preferences as stored. Records written before per-kind modes carry `signals: ['basis' | 'oi']` instead
 * of `modes`, and no `venues`: they read as those signals `on`, everything else at its default, every venue.
 */
export const DestPrefs = z.preprocess((raw) => {
  if (typeof raw !== 'object' || raw === null) return raw;
  const r = raw as Record<string, unknown>;
  const out: Record<string, unknown> = { venues: null, ...r };
  if (r.modes === undefined) {
    const signals = Array.isArray(r.signals) ? r.signals : [];
    out.modes = Object.fromEntries(SIGNAL_KINDS.filter((k) => signals.includes(k)).map((k) => [k, 'on']));
  }
  delete out.signals;
  return out;
}, PrefsShape);
export type DestPrefs = z.infer<typeof PrefsShape>;

export const DEFAULT_PREFS: DestPrefs = { symbols: null, minSeverity: 'info', modes: {}, venues: null };

/** The mode of a kind for a destination with these preferences. */
export function modeOf(prefs: DestPrefs, kind: AlertKind): NotifyMode {
  if (LOCKED_KINDS.includes(kind)) return 'on';
  return prefs.modes[kind] ?? DEFAULT_MODES[kind];
}

/** Whether a destination with these preferences wants this alert. */
export function wants(prefs: DestPrefs, a: Alert): boolean {
  return deliveryOf(prefs, a) !== null;
}

/**
 * How this alert reaches a destination with these preferences: `on`, `silent`, or null when it does not. A critical
 * alert rings even where its kind is silent (a broken hedge needs a person now); only `off` keeps it away.
 */
export function deliveryOf(prefs: DestPrefs, a: Alert): 'on' | 'silent' | null {
  // Pause/resume concern every market and every filter: a muted chat must still learn that trading stopped.
  if (LOCKED_KINDS.includes(a.kind)) return 'on';
  const mode = modeOf(prefs, a.kind);
  if (mode === 'off') return null;
  if (prefs.venues && (a.venue !== undefined || a.symbol !== undefined) && !prefs.venues.includes(a.venue ?? DESK_VENUE)) return null;
  if (a.symbol && prefs.symbols && !prefs.symbols.includes(a.symbol)) return null;
  if (SEVERITY_RANK[a.filterSeverity ?? a.severity] < SEVERITY_RANK[prefs.minSeverity]) return null;
  const critical = a.severity === 'critical' || a.filterSeverity === 'critical';
  return mode === 'silent' && !critical ? 'silent' : 'on';
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
