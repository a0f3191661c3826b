import type { Telegram } from 'telegraf';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import type { Reply, ReplyButton } from '../chat/reply.js';
import { escapeHtml, renderTelegramHtml } from './render.js';
import { isNotModified, isTelegramError } from './telegram-errors.js';

/** Telegram's caption limit; a longer reply goes as a follow-up message under the photo. */
const CAPTION_MAX = 1024;
const BUTTONS_PER_ROW = 3;

export type TelegramMessageKind = 'text' | 'photo';

export interface SentTelegramMessage {
  messageId: number;
  /** The message that carries the text and buttons (the one to edit later). */
  kind: TelegramMessageKind;
}

/** Runs one Bot API call that posts or edits a message in the chat, e.g. once the chat's flood limit allows it. */
export type Gate = <T>(call: () => Promise<T>) => Promise<T>;

const ungated: Gate = (call) => call();

export interface SendOptions {
  /** In groups the answer quotes the command, so everyone sees whom it answers. */
  replyTo?: number;
  /** Wraps each API call (flood limits); a reply with a long text and an image takes two sends. */
  gate?: Gate;
  /**
   * One API send at most: a long text under an image is clipped into the caption. The notify queue reserves one
   * pacing slot per delivery, so a second message would break the chat's limit.
   */
  singleMessage?: boolean;
  /** No sound or push for the recipients (`disable_notification`). */
  silent?: boolean;
  /** Forum topic to post in (`message_thread_id`); edits need none, a message never leaves its topic. */
  threadId?: number;
}

/** Reply.buttons → an inline keyboard; callback_data is the versioned button id (< 64 bytes by construction). */
export function inlineKeyboard(buttons: readonly ReplyButton[] | undefined): InlineKeyboardMarkup | undefined {
  if (!buttons?.length) return undefined;
  const rows: InlineKeyboardButton[][] = [];
  for (let i = 0; i < buttons.length; i += BUTTONS_PER_ROW) {
    rows.push(buttons.slice(i, i + BUTTONS_PER_ROW).map((b) => ({ text: b.label, callback_data: b.id })));
  }
  return { inline_keyboard: rows };
}

function textOf(reply: Reply, max?: number): string {
  const html = renderTelegramHtml(reply, max);
  // Telegram refuses an empty message; a reply with nothing to show still deserves an answer.
  return html.trim() ? html : escapeHtml('—');
}

/**
 * Sends and edits PerpDesk replies on one Telegram client, in HTML parse mode. No retries here: interactive
 * callers decide, and the notify queue owns retry for alerts. Every call that posts or edits goes through the
 * caller's gate (the chat's flood-limit budget).
 */
export class TelegramOutbound {
  constructor(private readonly telegram: Telegram) {}

  async send(chatId: string, reply: Reply, opts: SendOptions = {}): Promise<SentTelegramMessage> {
    const reply_markup = inlineKeyboard(reply.buttons);
    const reply_parameters = opts.replyTo === undefined ? undefined : { message_id: opts.replyTo, allow_sending_without_reply: true };
    const gate = opts.gate ?? ungated;
    const where = {
      ...(opts.threadId === undefined ? {} : { message_thread_id: opts.threadId }),
      ...(opts.silent ? { disable_notification: true } : {}),
    };
    if (reply.image) {
      const photo = { source: reply.image.data, filename: reply.image.filename };
      const full = renderTelegramHtml(reply);
      if (full.length <= CAPTION_MAX || opts.singleMessage) {
        const caption = full.length <= CAPTION_MAX ? full : renderTelegramHtml(reply, CAPTION_MAX);
        const m = await gate(() => this.telegram.sendPhoto(chatId, photo, { caption: caption || undefined, parse_mode: 'HTML', reply_markup, reply_parameters, ...where }));
        return { messageId: m.message_id, kind: 'photo' };
      }
      const alt = reply.image.alt ?? reply.title;
      await gate(() =>
        this.telegram.sendPhoto(chatId, photo, {
          ...(alt ? { caption: escapeHtml(alt.slice(0, CAPTION_MAX / 5)), parse_mode: 'HTML' as const } : {}),
          reply_parameters,
          ...where,
        }),
      );
    }
    const m = await gate(() =>
      this.telegram.sendMessage(chatId, textOf(reply), {
        parse_mode: 'HTML',
        reply_markup,
        reply_parameters: reply.image ? undefined : reply_parameters,
        link_preview_options: { is_disabled: true },
        ...where,
      }),
    );
    return { messageId: m.message_id, kind: 'text' };
  }

  /**
   * Replaces the text (or caption) and keyboard of a message; the keyboard goes away unless the new reply has
   * buttons. "Not modified" is success: the message already shows this state.
   */
  async edit(chatId: string, messageId: number, reply: Reply, kind?: TelegramMessageKind, gate: Gate = ungated): Promise<void> {
    const reply_markup = inlineKeyboard(reply.buttons);
    const asCaption = () =>
      gate(() => this.telegram.editMessageCaption(chatId, messageId, undefined, textOf(reply, CAPTION_MAX), { parse_mode: 'HTML', reply_markup }));
    try {
      if (kind === 'photo') {
        await asCaption();
        return;
      }
      try {
        await gate(() =>
          this.telegram.editMessageText(chatId, messageId, undefined, textOf(reply), {
            parse_mode: 'HTML',
            reply_markup,
            link_preview_options: { is_disabled: true },
          }),
        );
      } catch (e) {
        // A stored ref does not say whether it points at a photo; Telegram tells us.
        if (kind === undefined && isTelegramError(e, 400, /no text in the message/i)) await asCaption();
        else throw e;
      }
    } catch (e) {
      if (!isNotModified(e)) throw e;
    }
  }
}
