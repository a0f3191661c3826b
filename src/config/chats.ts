/**
 * PERPDESK_CHATS: chats whose members may use the read-only commands (`telegram:<chat id>`, `discord-guild:<id>`,
 * `discord-channel:<id>`). The configured guild and alert chats are added by the access policy, not listed here.
 */

export type ChatEntry =
  | { kind: 'telegram'; id: string }
  | { kind: 'discord-guild'; id: string }
  | { kind: 'discord-channel'; id: string };

const ENTRY = /^(telegram:-?\d{1,20}|discord-guild:\d{5,25}|discord-channel:\d{5,25})$/;

export function parseChats(text: string): ChatEntry[] {
  const out: ChatEntry[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    if (!ENTRY.test(entry)) {
      throw new Error(`comma list of telegram:<chat id>, discord-guild:<guild id> or discord-channel:<channel id>; got "${entry.slice(0, 40)}"`);
    }
    const i = entry.indexOf(':');
    out.push({ kind: entry.slice(0, i) as ChatEntry['kind'], id: entry.slice(i + 1) });
  }
  return out;
}
