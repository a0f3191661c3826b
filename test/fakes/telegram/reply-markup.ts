import { badRequest } from './api-error.js';
import { isRecord } from './params.js';
import type { TgInlineKeyboardButton, TgInlineKeyboardMarkup, TgReplyMarkup } from './types.js';

const BUTTON_ACTIONS = [
  'callback_data', 'url', 'switch_inline_query', 'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat', 'callback_game', 'pay', 'login_url', 'web_app', 'copy_text',
];
/** Telegram counts callback_data in bytes, not characters: one emoji can take four. */
const MAX_CALLBACK_DATA_BYTES = 64;
const MAX_BUTTONS = 100;

/** Validates an inline keyboard the way Telegram does; other markups are kept as sent. */
export function parseReplyMarkup(raw: unknown): TgReplyMarkup | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) throw badRequest("can't parse reply keyboard markup JSON object");
  if (!('inline_keyboard' in raw)) return raw;
  const rows = raw.inline_keyboard;
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) {
    throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
  }
  const keyboard = rows as unknown[][];
  if (keyboard.reduce((n, row) => n + row.length, 0) > MAX_BUTTONS) throw badRequest('reply markup is too long');
  const buttons = keyboard.map((row) => row.map(parseButton)).filter((row) => row.length > 0);
  // An empty inline keyboard is how clients remove one, so it is stored as no markup.
  return buttons.length === 0 ? undefined : { inline_keyboard: buttons };
}

function parseButton(raw: unknown): TgInlineKeyboardButton {
  if (!isRecord(raw) || typeof raw.text !== 'string') {
    throw badRequest("can't parse inline keyboard button: Field \"text\" must be of type String");
  }
  const actions = BUTTON_ACTIONS.filter((a) => raw[a] !== undefined);
  if (actions.length === 0) {
    throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  }
  if (actions.length > 1) {
    throw badRequest("can't parse inline keyboard button: an inline keyboard button must have exactly one optional field");
  }
  if (raw.callback_data !== undefined) {
    const data = raw.callback_data;
    if (typeof data !== 'string' || data.length === 0 || Buffer.byteLength(data, 'utf8') > MAX_CALLBACK_DATA_BYTES) {
      throw badRequest('BUTTON_DATA_INVALID');
    }
  }
  if (raw.url !== undefined && !isButtonUrl(raw.url)) {
    throw badRequest(`inline keyboard button URL '${String(raw.url)}' is invalid: Wrong HTTP URL`);
  }
  return { ...raw, text: raw.text };
}

function isButtonUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    return ['http:', 'https:', 'tg:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}

export function inlineKeyboardOf(markup: TgReplyMarkup | undefined): TgInlineKeyboardButton[][] {
  return markup !== undefined && isInlineKeyboard(markup) ? markup.inline_keyboard : [];
}

export function isInlineKeyboard(markup: TgReplyMarkup): markup is TgInlineKeyboardMarkup {
  return Array.isArray((markup as { inline_keyboard?: unknown }).inline_keyboard);
}
