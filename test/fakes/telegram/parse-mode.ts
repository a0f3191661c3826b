import { badRequest, type ApiError } from './api-error.js';

export type ParseMode = 'HTML' | 'MarkdownV2' | 'Markdown';

const MODES: Record<string, ParseMode> = { html: 'HTML', markdownv2: 'MarkdownV2', markdown: 'Markdown' };

/** Telegram accepts parse_mode case-insensitively; anything else is refused. */
export function normaliseParseMode(raw: string | undefined): ParseMode | undefined {
  if (raw === undefined || raw === '') return undefined;
  const mode = MODES[raw.toLowerCase()];
  if (mode === undefined) throw badRequest('unsupported parse_mode');
  return mode;
}

/**
 * The text a user would see, markup removed. Throws the 400 Telegram gives for markup it cannot parse
 * (rules follow tdlib's parsers closely enough to catch unescaped `<`, stray `.` in MarkdownV2 and
 * unbalanced tags; offsets are UTF-8 byte offsets like Telegram's).
 */
export function visibleText(text: string, mode: ParseMode | undefined): string {
  if (mode === 'HTML') return parseHtml(text);
  if (mode === 'MarkdownV2') return parseMarkdownV2(text);
  if (mode === 'Markdown') return parseMarkdownLegacy(text);
  return text;
}

function entityError(detail: string): ApiError {
  return badRequest(`can't parse entities: ${detail}`);
}

function byteOffset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), 'utf8');
}

// ---- HTML ----

const HTML_TAGS = new Set([
  'b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'a', 'code', 'pre', 'span', 'tg-spoiler',
  'tg-emoji', 'blockquote',
]);
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

function parseHtml(text: string): string {
  let out = '';
  const open: Array<{ tag: string }> = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '&') {
      const entity = /^&(#x[0-9a-f]+|#\d+|[a-z]+);/i.exec(text.slice(i, i + 12));
      const decoded = entity === null ? undefined : decodeEntity(entity[1] as string);
      // tdlib keeps an unknown entity as literal text rather than failing.
      if (entity !== null && decoded !== undefined) {
        out += decoded;
        i += entity[0].length;
      } else {
        out += c;
        i += 1;
      }
      continue;
    }
    if (c !== '<') {
      out += c;
      i += 1;
      continue;
    }
    const start = i;
    if (text[i + 1] === '/') {
      const close = text.indexOf('>', i);
      if (close < 0) throw entityError(`Unclosed end tag at byte offset ${byteOffset(text, start)}`);
      const name = text.slice(i + 2, close).trim().toLowerCase();
      const top = open.pop();
      if (top === undefined) throw entityError(`Unexpected end tag at byte offset ${byteOffset(text, start)}`);
      if (name !== '' && name !== top.tag) {
        throw entityError(
          `Unmatched end tag at byte offset ${byteOffset(text, start)}, expected "</${top.tag}>", found "</${name}>"`,
        );
      }
      i = close + 1;
      continue;
    }
    // As in tdlib, the tag name runs to the first space or `>`, so `a < b` names the empty tag "".
    let nameEnd = i + 1;
    while (nameEnd < text.length && !/\s/.test(text[nameEnd] as string) && text[nameEnd] !== '>') nameEnd += 1;
    if (nameEnd >= text.length) throw entityError(`Unclosed start tag at byte offset ${byteOffset(text, start)}`);
    const name = text.slice(i + 1, nameEnd).toLowerCase();
    if (!HTML_TAGS.has(name)) {
      throw entityError(`Unsupported start tag "${name}" at byte offset ${byteOffset(text, start)}`);
    }
    i = skipAttributes(text, nameEnd, start);
    open.push({ tag: name });
  }
  const unclosed = open.at(-1);
  if (unclosed !== undefined) throw entityError(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  return out;
}

/** Skips `attr="value"` pairs (a quoted value may contain `>`); returns the index after the closing `>`. */
function skipAttributes(text: string, from: number, tagStart: number): number {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === '>') return i + 1;
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) break;
      i = end + 1;
      continue;
    }
    i += 1;
  }
  throw entityError(`Unclosed start tag at byte offset ${byteOffset(text, tagStart)}`);
}

function decodeEntity(body: string): string | undefined {
  if (body.startsWith('#x') || body.startsWith('#X')) return fromCodePoint(parseInt(body.slice(2), 16));
  if (body.startsWith('#')) return fromCodePoint(parseInt(body.slice(1), 10));
  return NAMED_ENTITIES[body.toLowerCase()];
}

function fromCodePoint(cp: number): string | undefined {
  return Number.isInteger(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
}

// ---- MarkdownV2 ----

const RESERVED_V2 = new Set([...'_*[]()~`>#+-=|{}.!']);
const V2_MARKERS: Record<string, string> = { '*': 'Bold', _: 'Italic', __: 'Underline', '~': 'Strikethrough', '||': 'Spoiler' };

function parseMarkdownV2(text: string): string {
  let out = '';
  const open: Array<{ marker: string; offset: number }> = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length && (text.charCodeAt(i + 1) ?? 0) <= 126) {
      out += text[i + 1];
      i += 2;
      continue;
    }
    if (!RESERVED_V2.has(c)) {
      out += c;
      i += 1;
      continue;
    }
    if (c === '`') {
      const fence = text.startsWith('```', i) ? '```' : '`';
      const end = findUnescaped(text, fence, i + fence.length);
      if (end < 0) {
        throw entityError(`Can't find end of ${fence === '```' ? 'Pre' : 'Code'} entity at byte offset ${byteOffset(text, i)}`);
      }
      out += unescape(text.slice(i + fence.length, end));
      i = end + fence.length;
      continue;
    }
    const marker = c === '_' && text[i + 1] === '_' ? '__' : c === '|' && text[i + 1] === '|' ? '||' : c;
    if (marker in V2_MARKERS) {
      const top = open.at(-1);
      if (top?.marker === marker) open.pop();
      else if (top !== undefined && open.some((e) => e.marker === marker)) {
        // Entities must nest; closing an outer one first leaves the inner one unterminated.
        throw entityError(`Can't find end of ${entityName(top.marker)} entity at byte offset ${top.offset}`);
      } else open.push({ marker, offset: byteOffset(text, i) });
      i += marker.length;
      continue;
    }
    if (c === '[' || (c === '!' && text[i + 1] === '[')) {
      open.push({ marker: '[', offset: byteOffset(text, i) });
      i += c === '!' ? 2 : 1;
      continue;
    }
    if (c === ']' && open.at(-1)?.marker === '[') {
      open.pop();
      i += 1;
      if (text[i] === '(') {
        const end = findUnescaped(text, ')', i + 1);
        if (end < 0) throw entityError(`Can't find end of a URL at byte offset ${byteOffset(text, i)}`);
        i = end + 1;
      }
      continue;
    }
    const atLineStart = i === 0 || text[i - 1] === '\n';
    if (c === '>' && atLineStart) {
      i += 1;
      continue;
    }
    throw entityError(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
  }
  const unclosed = open.at(-1);
  if (unclosed !== undefined) {
    throw entityError(`Can't find end of ${entityName(unclosed.marker)} entity at byte offset ${unclosed.offset}`);
  }
  return out;
}

function entityName(marker: string): string {
  return V2_MARKERS[marker] ?? 'TextUrl';
}

function findUnescaped(text: string, needle: string, from: number): number {
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '\\') {
      i += 1;
      continue;
    }
    if (text.startsWith(needle, i)) return i;
  }
  return -1;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

// ---- legacy Markdown ----

function parseMarkdownLegacy(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length && '_*`['.includes(text[i + 1] as string)) {
      out += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '[') {
      const end = text.indexOf(']', i + 1);
      if (end < 0) throw entityError(`Can't find end of the entity starting at byte offset ${byteOffset(text, i)}`);
      out += text.slice(i + 1, end);
      i = end + 1;
      if (text[i] === '(') {
        const urlEnd = text.indexOf(')', i);
        if (urlEnd < 0) throw entityError(`Can't find end of the entity starting at byte offset ${byteOffset(text, i)}`);
        i = urlEnd + 1;
      }
      continue;
    }
    if (c === '_' || c === '*' || c === '`') {
      const fence = c === '`' && text.startsWith('```', i) ? '```' : c;
      const end = text.indexOf(fence, i + fence.length);
      if (end < 0) throw entityError(`Can't find end of the entity starting at byte offset ${byteOffset(text, i)}`);
      out += text.slice(i + fence.length, end);
      i = end + fence.length;
      continue;
    }
    out += c;
    i += 1;
  }
  return out;
}
