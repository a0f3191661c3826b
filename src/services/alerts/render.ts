import { createHash } from 'node:crypto';
import type { Reply } from '../../chat/reply.js';
import { encodeButtonId } from '../../chat/button-id.js';
import { utc } from '../../format.js';
import { SEVERITY_RANK } from './types.js';
import type { Alert } from './types.js';

export const ACK_ACTION = 'ack';
/** How long an Acknowledge button stays valid. */
export const ACK_TTL_MS = 24 * 3600_000;

const KIND_WORDS: Record<Alert['kind'], string> = {
  cascade: 'cascade',
  liquidation_risk: 'liquidation risk',
  leverage: 'account leverage',
  funding_against: 'funding against',
  funding_reminder: 'funding reminder',
  harvester: 'harvester',
  trading: 'trading',
  order: 'order',
  basis: 'basis signal',
  oi: 'open interest signal',
  rule: 'alert rule',
  position: 'position changed outside the desk',
  stale: 'stale data',
  heartbeat: 'heartbeat',
  summary: 'daily summary',
  signal: 'signal',
};

/** The incident an alert belongs to: its own key and time unless it names one. */
export function incidentOf(a: Alert): string {
  return a.incident ?? `${a.key}@${a.at}`;
}

/** Short, button-safe reference of an incident (`[A-Za-z0-9_-]{16}`), stable across processes. */
export function incidentRef(incident: string): string {
  return createHash('sha256').update(incident).digest('base64url').slice(0, 16);
}

export function alertTrack(ref: string): string {
  return `alert:${ref}`;
}

export interface AckState {
  by: string;
  at: number;
}

/** Alert → transport-neutral Reply. Critical alerts carry an Acknowledge button until someone clicks it. */
export function renderAlert(a: Alert, ack: AckState | null): Reply {
  const ref = incidentRef(incidentOf(a));
  const footer = [`PerpDesk alert · ${KIND_WORDS[a.kind]} · ${utc(a.at)}`];
  if (ack) footer.push(`Acknowledged by ${ack.by} at ${utc(ack.at)}`);
  const reply: Reply = {
    title: a.title,
    text: a.text,
    fields: a.fields,
    severity: a.severity,
    footer: footer.join('\n'),
  };
  if (a.buttons?.length) reply.buttons = a.buttons.map((b) => ({ id: encodeButtonId(b), label: b.label, style: b.style }));
  if (a.severity === 'critical' && !ack) {
    const exp = Math.floor((a.at + ACK_TTL_MS) / 1000);
    reply.buttons = [...(reply.buttons ?? []), { id: encodeButtonId({ action: ACK_ACTION, ref, exp }), label: 'Acknowledge', style: 'danger' }];
  }
  return reply;
}

/** A digest's text stays well under every platform's message size (Telegram 4096, Discord embed description 4096). */
export const DIGEST_TEXT_MAX = 3_000;
const DIGEST_LINE_MAX = 240;

function digestLine(a: Alert): string {
  const first = a.text?.split('\n').find((l) => l.trim())?.trim();
  const line = `${utc(a.at).slice(11, 19)} · ${KIND_WORDS[a.kind]} · ${a.title}${first ? ` — ${first}` : ''}`;
  return line.length > DIGEST_LINE_MAX ? `${line.slice(0, DIGEST_LINE_MAX - 1)}…` : line;
}

/** How many of these alerts (from the first, in order) fit in one digest message; at least one. */
export function digestFit(alerts: readonly Alert[]): number {
  let len = 0;
  for (let i = 0; i < alerts.length; i++) {
    len += digestLine(alerts[i]!).length + 1;
    if (len > DIGEST_TEXT_MAX) return Math.max(1, i);
  }
  return alerts.length;
}

/**
 * Routine alerts that queued up while a chat was at its message limit, as one message: every alert keeps a line,
 * in the order they were raised.
 */
export function renderDigest(alerts: readonly Alert[]): Reply {
  const top = alerts.reduce((s, a) => (SEVERITY_RANK[a.severity] > SEVERITY_RANK[s] ? a.severity : s), 'info' as Alert['severity']);
  const first = alerts[0]!;
  const last = alerts[alerts.length - 1]!;
  return {
    title: `Digest: ${alerts.length} alerts`,
    text: alerts.map(digestLine).join('\n'),
    severity: top === 'critical' ? 'warning' : top,
    footer: `PerpDesk alert digest · ${utc(first.at)} – ${utc(last.at).slice(11)} · merged because this chat was at its message limit`,
  };
}
