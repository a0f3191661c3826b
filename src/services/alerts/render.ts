import { createHash } from 'node:crypto';
import type { Reply } from '../../chat/reply.js';
import { encodeButtonId } from '../../chat/button-id.js';
import { utc } from '../../format.js';
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
