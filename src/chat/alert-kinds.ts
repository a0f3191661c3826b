/**
 * The vocabulary people use to route alerts: the alert kinds, the groups that name several kinds at once, and the
 * notification modes. It lives here, below config and services, because both the environment
 * (`TELEGRAM_ALERT_CHAT_ID` topics) and `/subscribe` read the same words.
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
export type AlertKindName = (typeof ALERT_KINDS)[number];

/**
 * Names for several kinds at once, usable wherever a kind is: `risk` is what threatens a position, `market` the
 * informational basis / OI signals, `watchdog` what the desk notices behind its own back. `all` is every kind.
 */
export const KIND_GROUPS = {
  risk: ['liquidation_risk', 'leverage', 'funding_against'],
  market: ['basis', 'oi'],
  watchdog: ['position', 'stale', 'heartbeat'],
  all: ALERT_KINDS,
} as const satisfies Record<string, readonly AlertKindName[]>;
export type KindGroup = keyof typeof KIND_GROUPS;

/** `on` notifies, `silent` arrives without a sound or push (Telegram disable_notification, Discord SuppressNotifications), `off` is not sent. */
export const NOTIFY_MODES = ['on', 'silent', 'off'] as const;
export type NotifyMode = (typeof NOTIFY_MODES)[number];

/** What `name` stands for: one kind, a group's kinds, or null when it is neither. `-` and case are forgiven. */
export function kindsNamed(name: string): readonly AlertKindName[] | null {
  const n = name.trim().toLowerCase().replace(/-/g, '_');
  if ((ALERT_KINDS as readonly string[]).includes(n)) return [n as AlertKindName];
  if (Object.hasOwn(KIND_GROUPS, n)) return KIND_GROUPS[n as KindGroup];
  return null;
}

/** The words a person may use for kinds, for error messages. */
export function kindWords(): string {
  return `${ALERT_KINDS.join(', ')}, or a group: ${Object.entries(KIND_GROUPS)
    .filter(([g]) => g !== 'all')
    .map(([g, ks]) => `${g} (${ks.join(', ')})`)
    .join(', ')}, all`;
}

/**
 * Parses `risk=on,order=silent`-style lists (commas or spaces between entries). Entries apply left to right, so
 * `all=silent,cascade=on` silences everything but cascades. `value` turns each right-hand side into a value or
 * throws an Error whose message is shown as is. Throws an Error naming the first bad entry.
 */
export function parseKindAssignments<T>(text: string, value: (raw: string, kinds: readonly AlertKindName[]) => T): Map<AlertKindName, T> {
  const out = new Map<AlertKindName, T>();
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (!entries.length) throw new Error('expected kind=value entries, e.g. risk=on,order=silent');
  for (const entry of entries) {
    const m = /^([^=:]+)[=:](.*)$/.exec(entry);
    if (!m) throw new Error(`"${entry}" is not kind=value (e.g. risk=on)`);
    const kinds = kindsNamed(m[1]!);
    if (!kinds) throw new Error(`unknown alert kind "${m[1]}"; use ${kindWords()}`);
    const v = value(m[2]!.trim(), kinds);
    for (const k of kinds) out.set(k, v);
  }
  return out;
}
