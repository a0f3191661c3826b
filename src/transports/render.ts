import type { Reply, ReplyTable, Severity } from '../chat/reply.js';

/** Reply → what each platform shows. Transports call these and nothing else to format. */

export const SEVERITY_COLOUR: Record<Severity, number> = {
  info: 0x5865f2,
  success: 0x57f287,
  warning: 0xfee75c,
  critical: 0xed4245,
};

const SEVERITY_MARK: Record<Severity, string> = { info: 'ℹ', success: '✅', warning: '⚠', critical: '🚨' };

/** Fixed-width table (console, Discord code block, Telegram <pre>). */
export function textTable(t: ReplyTable): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => ((t.align?.[i] ?? 'left') === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(t.headers), widths.map((w) => '─'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

/** Plain text for the console. */
export function renderText(r: Reply): string {
  const out: string[] = [];
  const sev = r.severity ?? 'info';
  if (r.title) out.push(`${SEVERITY_MARK[sev]} ${r.title}`);
  if (r.fields?.length) {
    const w = Math.max(...r.fields.map((f) => f.name.length));
    for (const f of r.fields) {
      const [first = '', ...rest] = f.value.split('\n');
      out.push(`  ${f.name.padEnd(w)}  ${first}`);
      for (const l of rest) out.push(`  ${''.padEnd(w)}  ${l}`);
    }
  }
  if (r.table) out.push(textTable(r.table).split('\n').map((l) => `  ${l}`).join('\n'));
  if (r.text) out.push(r.title ? r.text.split('\n').map((l) => `  ${l}`).join('\n') : r.text);
  if (r.image) out.push(`  Chart: ${r.image.path ?? r.image.filename}`);
  if (r.footer) out.push(`  (${r.footer})`);
  if (r.buttons?.length) out.push(`  Buttons: ${r.buttons.map((b) => `[${b.label}]`).join(' ')}  — type the label to press`);
  return out.join('\n');
}

export interface DiscordEmbed {
  title?: string;
  description?: string;
  color: number;
  fields?: { name: string; value: string; inline?: boolean }[];
  footer?: { text: string };
  image?: { url: string };
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A Discord embed (limits: title 256, description 4096, 25 fields, field value 1024). */
export function renderDiscordEmbed(r: Reply): DiscordEmbed {
  const parts: string[] = [];
  if (r.text) parts.push(r.text);
  if (r.table) parts.push('```\n' + textTable(r.table) + '\n```');
  return {
    ...(r.title ? { title: clip(r.title, 256) } : {}),
    ...(parts.length ? { description: clip(parts.join('\n'), 4096) } : {}),
    color: SEVERITY_COLOUR[r.severity ?? 'info'],
    ...(r.fields?.length
      ? { fields: r.fields.slice(0, 25).map((f) => ({ name: clip(f.name, 256), value: clip(f.value || '—', 1024), inline: f.inline ?? false })) }
      : {}),
    ...(r.footer ? { footer: { text: clip(r.footer, 2048) } } : {}),
    ...(r.image ? { image: { url: `attachment://${r.image.filename}` } } : {}),
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const TELEGRAM_TEXT_MAX = 4096;

/**
 * Telegram HTML parse mode (limit 4096 chars per message; `max` 1024 for a photo caption). Too long a reply loses
 * table rows from the end, then text, never a closing tag: a cut tag makes Telegram refuse the whole message.
 */
export function renderTelegramHtml(r: Reply, max = TELEGRAM_TEXT_MAX): string {
  const build = (rows: string[][] | undefined, text: string | undefined, dropped: number): string => {
    const out: string[] = [];
    const sev = r.severity ?? 'info';
    if (r.title) out.push(`<b>${SEVERITY_MARK[sev]} ${escapeHtml(r.title)}</b>`);
    for (const f of r.fields ?? []) out.push(`<b>${escapeHtml(f.name)}:</b> ${escapeHtml(f.value)}`);
    if (r.table && rows) {
      const more = dropped > 0 ? `\n… ${dropped} more row${dropped === 1 ? '' : 's'}` : '';
      out.push(`<pre>${escapeHtml(textTable({ ...r.table, rows }) + more)}</pre>`);
    }
    if (text) out.push(escapeHtml(text));
    if (r.footer) out.push(`<i>${escapeHtml(r.footer)}</i>`);
    return out.join('\n');
  };
  const rows = r.table?.rows ?? [];
  let html = build(r.table?.rows, r.text, 0);
  for (let keep = rows.length - 1; html.length > max && keep >= 0; keep--) html = build(rows.slice(0, keep), r.text, rows.length - keep);
  if (html.length > max && r.text) {
    const over = html.length - max;
    html = build(rows.slice(0, 0), clip(r.text, Math.max(1, r.text.length - over - 40)), rows.length);
  }
  // Last resort (huge title or fields): plain text, escaped after cutting so no entity is split.
  if (html.length > max) html = escapeHtml(clip(renderText(r), Math.floor(max / 5)));
  return html;
}
