import { parseKindAssignments } from '../../chat/alert-kinds.js';
import { UserError } from '../../errors.js';
import { ALERT_KINDS, DEFAULT_MODES, DESK_VENUE, LOCKED_KINDS, NOTIFY_MODES, modeOf, type AlertKind, type DestPrefs, type NotifyMode } from './types.js';

/**
 * What `/subscribe` changes in a destination's preferences, read from what a person typed. Every parser throws a
 * UserError that says what was wrong and what would be right; nothing is half-applied.
 */

/**
 * `risk=on,order=silent,harvester=off` (commas or spaces; kinds or groups; later entries win) → the modes it sets.
 * A group that includes a locked kind (`all=off`) leaves that kind alone; naming the locked kind itself is refused.
 */
export function parseNotify(text: string): Partial<Record<AlertKind, NotifyMode>> {
  let parsed: Map<AlertKind, NotifyMode>;
  try {
    parsed = parseKindAssignments(text, (raw, kinds) => {
      const mode = raw.toLowerCase();
      if (!(NOTIFY_MODES as readonly string[]).includes(mode)) throw new Error(`"${raw}" is not a mode; use on, silent or off`);
      if (kinds.length === 1 && LOCKED_KINDS.includes(kinds[0]!) && mode !== 'on') {
        throw new Error('trading (paused / resumed) always rings in every alert chat; it cannot be silenced or switched off');
      }
      return mode as NotifyMode;
    });
  } catch (e) {
    throw new UserError('bad_notify', `notify: ${(e as Error).message}. Example: notify:risk=on,order=silent,harvester=off`);
  }
  for (const k of LOCKED_KINDS) parsed.delete(k);
  return Object.fromEntries(parsed);
}

/** Modes after applying `changes`; a mode equal to the default is not stored, so it follows the default. */
export function withModes(prior: DestPrefs['modes'], changes: Partial<Record<AlertKind, NotifyMode>>): DestPrefs['modes'] {
  const out: DestPrefs['modes'] = { ...prior };
  for (const [k, m] of Object.entries(changes) as [AlertKind, NotifyMode][]) {
    if (m === DEFAULT_MODES[k]) delete out[k];
    else out[k] = m;
  }
  return out;
}

export interface VenueChoices {
  /** ccxt ids of MARKET_VENUES. */
  marketVenues: readonly string[];
  /** The desk's own exchange as configured (`paper`, `purpleflea`): also accepted for DESK_VENUE. */
  exchange: string;
}

/** `all` → null (every venue); else a comma list of MARKET_VENUES ids, `desk` or the exchange's name. */
export function parseVenues(text: string, c: VenueChoices): string[] | null {
  const words = text.split(/[\s,]+/).map((w) => w.trim().toLowerCase()).filter(Boolean);
  if (words.length === 1 && words[0] === 'all') return null;
  const valid = [DESK_VENUE, ...c.marketVenues];
  const out: string[] = [];
  for (const w of words) {
    const v = w === c.exchange ? DESK_VENUE : w;
    if (!valid.includes(v)) {
      throw new UserError(
        'bad_venue',
        `venues: unknown venue "${w}"; use ${valid.map((x) => (x === DESK_VENUE ? `${DESK_VENUE} (${c.exchange}, the desk's own exchange)` : x)).join(', ')}, or all.`,
      );
    }
    if (!out.includes(v)) out.push(v);
  }
  if (!out.length) throw new UserError('bad_venue', 'venues: name at least one venue, or all.');
  return out;
}

export function describeVenues(venues: DestPrefs['venues'], exchange: string): string {
  if (!venues) return 'all';
  return venues.map((v) => (v === DESK_VENUE ? `${DESK_VENUE} (${exchange})` : v)).join(', ');
}

/** Every kind by its mode in this destination; kinds set away from their default are marked with `*`. */
export function describeModes(prefs: DestPrefs): Record<NotifyMode, string> {
  const out: Record<NotifyMode, string[]> = { on: [], silent: [], off: [] };
  for (const k of ALERT_KINDS) {
    const m = modeOf(prefs, k);
    out[m].push(prefs.modes[k] !== undefined && !LOCKED_KINDS.includes(k) ? `${k}*` : k);
  }
  return { on: out.on.join(', ') || '—', silent: out.silent.join(', ') || '—', off: out.off.join(', ') || '—' };
}

