import { ApiError, badRequest, tooManyRequests } from './api-error.js';
import { ChatStore, toWireMessage } from './chat-store.js';
import type { MultipartFile } from './multipart.js';
import {
  boolParam, chatIdParam, intParam, isRecord, jsonParam, requiredIntParam, stringParam, type Params,
} from './params.js';
import { normaliseParseMode, visibleText } from './parse-mode.js';
import { RateLimiter, type RateLimits } from './rate-limiter.js';
import { inlineKeyboardOf, parseReplyMarkup } from './reply-markup.js';
import type {
  ApiCall, CallbackAnswer, MessageVersion, RateLimitedCall, SentFile, SentMessage, TgBotCommand, TgBotUser,
  TgCallbackQuery, TgMessage, TgUpdate, UnhandledCall, Violation,
} from './types.js';
import { UpdateQueue } from './update-queue.js';

export interface BotApiOptions {
  bot: TgBotUser;
  limits: RateLimits | false;
  /** Edits count against the same limits as sends (see README: Telegram answers edit floods with 429 too). */
  limitEdits?: boolean;
  now: () => number;
}

/** Methods that post a new message: the ones Telegram's flood limits count. */
export const SEND_METHODS: ReadonlySet<string> = new Set(['sendMessage', 'sendPhoto', 'sendDocument']);
/** Methods that change a message already in the chat. */
export const EDIT_METHODS: ReadonlySet<string> = new Set(['editMessageText', 'editMessageCaption', 'editMessageReplyMarkup']);

const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const MAX_CALLBACK_ANSWER_TEXT = 200;
const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';
const QUERY_INVALID = 'query is too old and response timeout expired or query ID is invalid';
const COMMAND_NAME = /^[a-z0-9_]{1,32}$/;

type Handler = (p: Params, files: MultipartFile[]) => unknown;

interface ForcedLimit {
  remaining: number;
  retryAfter: number;
  methods: ReadonlySet<string>;
}

/** The Bot API's state and methods, independent of HTTP; the server and the test driver share one. */
export class BotApi {
  readonly chats = new ChatStore();
  readonly updates = new UpdateQueue();
  readonly callbackQueries = new Map<string, { query: TgCallbackQuery; answered: boolean }>();
  readonly answers: CallbackAnswer[] = [];
  readonly commandSets = new Map<string, TgBotCommand[]>();
  readonly violations: Violation[] = [];
  readonly rateLimited: RateLimitedCall[] = [];
  readonly unhandled: UnhandledCall[] = [];
  readonly calls: ApiCall[] = [];
  private readonly limiter: RateLimiter | undefined;
  private readonly limited: ReadonlySet<string>;
  private forced: ForcedLimit | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly handlers = new Map<string, Handler>();

  constructor(private readonly options: BotApiOptions) {
    this.limiter = options.limits === false ? undefined : new RateLimiter(options.limits);
    this.limited = new Set([...SEND_METHODS, ...(options.limitEdits === true ? EDIT_METHODS : [])]);
    const handlers: Record<string, Handler> = {
      getMe: () => this.options.bot,
      deleteWebhook: (p) => {
        if (boolParam(p, 'drop_pending_updates') === true) this.updates.dropPending();
        return true;
      },
      getWebhookInfo: () => ({ url: '', has_custom_certificate: false, pending_update_count: this.updates.pendingCount() }),
      sendMessage: (p) => this.sendMessage(p),
      sendPhoto: (p, files) => this.sendMedia('sendPhoto', 'photo', p, files),
      sendDocument: (p, files) => this.sendMedia('sendDocument', 'document', p, files),
      editMessageText: (p) => this.editMessageText(p),
      editMessageCaption: (p) => this.editMessageCaption(p),
      editMessageReplyMarkup: (p) => this.editMessageReplyMarkup(p),
      deleteMessage: (p) => this.deleteMessage(p),
      answerCallbackQuery: (p) => this.answerCallbackQuery(p),
      setMyCommands: (p) => this.setMyCommands(p),
      getMyCommands: (p) => this.commandSets.get(commandKey(p)) ?? [],
      deleteMyCommands: (p) => {
        this.commandSets.delete(commandKey(p));
        return true;
      },
      sendChatAction: (p) => this.sendChatAction(p),
    };
    for (const [name, handler] of Object.entries(handlers)) this.handlers.set(name.toLowerCase(), handler);
  }

  get bot(): TgBotUser {
    return this.options.bot;
  }

  now(): number {
    return this.options.now();
  }

  /** Runs any method but getUpdates. Method names are case-insensitive, as in Telegram. */
  call(method: string, params: Params, files: MultipartFile[]): unknown {
    try {
      const handler = this.handlers.get(method.toLowerCase());
      if (handler === undefined) {
        this.unhandled.push({ method, params: { ...params }, at: this.now() });
        throw new ApiError(404, 'Not Found');
      }
      return handler(params, files);
    } finally {
      this.notify();
    }
  }

  /** Starts a getUpdates long poll; a second concurrent poller is refused like Telegram does. */
  poll(p: Params): { result: Promise<TgUpdate[]>; cancel: () => void } {
    if (this.updates.polling) {
      throw new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
    }
    const allowed = jsonParam(p, 'allowed_updates');
    if (allowed !== undefined && !(Array.isArray(allowed) && allowed.every((t) => typeof t === 'string'))) {
      throw badRequest("can't parse allowed updates");
    }
    const handle = this.updates.poll({
      offset: intParam(p, 'offset'),
      limit: intParam(p, 'limit'),
      timeoutSeconds: intParam(p, 'timeout'),
      allowedUpdates: allowed as string[] | undefined,
    });
    // Confirming an offset is observable (waitForConfirmed), so tell waiters.
    this.notify();
    return handle;
  }

  /** Makes the next `count` calls of `methods` answer 429 with `retryAfter`, whatever the limits say. */
  forceRateLimit(count: number, retryAfter: number, methods: ReadonlySet<string>): void {
    this.forced = count > 0 ? { remaining: count, retryAfter, methods } : undefined;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  wire(m: SentMessage): TgMessage {
    const replyTo = m.replyToMessageId === undefined ? undefined : this.anyMessage(m.chatId, m.replyToMessageId);
    return toWireMessage(m, this.chats.chat(m.chatId), this.bot, replyTo);
  }

  // ---- sending ----

  private sendMessage(p: Params): TgMessage {
    const chatId = chatIdParam(p);
    const text = stringParam(p, 'text') ?? '';
    const parseMode = normaliseParseMode(stringParam(p, 'parse_mode'));
    checkText(text, parseMode);
    const replyMarkup = parseReplyMarkup(jsonParam(p, 'reply_markup'));
    const replyTo = this.replyTarget(chatId, p);
    const thread = this.threadOf(chatId, p, replyTo);
    this.admitSend('sendMessage', chatId);
    return this.store(p, { chatId, kind: 'text', text, parseMode, replyMarkup, replyToMessageId: replyTo, messageThreadId: thread });
  }

  private sendMedia(method: string, field: 'photo' | 'document', p: Params, files: MultipartFile[]): TgMessage {
    const chatId = chatIdParam(p);
    const file = mediaParam(field, p, files);
    const caption = stringParam(p, 'caption');
    const parseMode = normaliseParseMode(stringParam(p, 'parse_mode'));
    if (caption !== undefined) checkCaption(caption, parseMode);
    const replyMarkup = parseReplyMarkup(jsonParam(p, 'reply_markup'));
    const replyTo = this.replyTarget(chatId, p);
    const thread = this.threadOf(chatId, p, replyTo);
    this.admitSend(method, chatId);
    return this.store(p, { chatId, kind: field, caption, parseMode, replyMarkup, replyToMessageId: replyTo, file, messageThreadId: thread });
  }

  private store(
    p: Params,
    m: Pick<SentMessage, 'chatId' | 'kind' | 'text' | 'caption' | 'parseMode' | 'replyMarkup' | 'replyToMessageId' | 'file' | 'messageThreadId'>,
  ): TgMessage {
    const message: SentMessage = {
      ...dropUndefined(m),
      messageId: this.chats.allocateMessageId(m.chatId),
      inlineKeyboard: inlineKeyboardOf(m.replyMarkup),
      disableNotification: boolParam(p, 'disable_notification') ?? false,
      editCount: 0,
      history: [],
      deleted: false,
      sentAt: this.now(),
    };
    this.chats.addBotMessage(message);
    return this.wire(message);
  }

  /** Blocked chats, forced 429s and flood limits, in that order; only admitted sends use up the budget. */
  private admitSend(method: string, chatId: number): void {
    this.refuseMigrated(chatId);
    if (this.chats.isBlocked(chatId)) throw new ApiError(403, blockedDescription(this.chats.chat(chatId).type));
    const at = this.now();
    const forced = this.forced;
    if (forced !== undefined && forced.methods.has(method)) {
      forced.remaining -= 1;
      if (forced.remaining <= 0) this.forced = undefined;
      this.rateLimited.push({ method, chatId, reason: 'forced', retryAfter: forced.retryAfter, at });
      throw tooManyRequests(forced.retryAfter);
    }
    if (this.limiter === undefined || !this.limited.has(method)) return;
    const admission = this.limiter.admit(chatId, at);
    if (admission.ok) return;
    this.violations.push({ method, chatId, scope: admission.scope, retryAfter: admission.retryAfter, at });
    this.rateLimited.push({ method, chatId, reason: admission.scope, retryAfter: admission.retryAfter, at });
    throw tooManyRequests(admission.retryAfter);
  }

  /** A group upgraded to a supergroup answers every send and edit with the new id, as Telegram does. */
  private refuseMigrated(chatId: number): void {
    const to = this.chats.migratedTo(chatId);
    if (to !== undefined) throw new ApiError(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: to });
  }

  private replyTarget(chatId: number, p: Params): number | undefined {
    const parameters = jsonParam(p, 'reply_parameters');
    const fromParameters = isRecord(parameters) ? intParam(parameters, 'message_id') : undefined;
    const messageId = fromParameters ?? intParam(p, 'reply_to_message_id');
    if (messageId === undefined) return undefined;
    if (this.anyMessage(chatId, messageId) !== undefined) return messageId;
    const lenient =
      (isRecord(parameters) && boolParam(parameters, 'allow_sending_without_reply') === true) ||
      boolParam(p, 'allow_sending_without_reply') === true;
    if (lenient) return undefined;
    throw badRequest('message to be replied not found');
  }

  /**
   * The forum topic a new message goes to. `message_thread_id` must name a live topic of a forum: anything else —
   * a chat without topics, an unknown or deleted topic, or 1, the General topic, which is reached by leaving the
   * parameter out — is 400 "message thread not found"; a closed topic is 400 TOPIC_CLOSED. Without the parameter a
   * reply lands in the topic of the message it replies to.
   */
  private threadOf(chatId: number, p: Params, replyTo: number | undefined): number | undefined {
    const threadId = intParam(p, 'message_thread_id');
    if (threadId === undefined) {
      if (replyTo === undefined) return undefined;
      const target = this.anyMessage(chatId, replyTo);
      return target?.is_topic_message === true ? target.message_thread_id : undefined;
    }
    const topic = this.chats.topic(chatId, threadId);
    if (!this.chats.isForum(chatId) || topic === undefined || topic.deleted) throw badRequest('message thread not found');
    if (topic.closed) throw badRequest('TOPIC_CLOSED');
    return threadId;
  }

  private anyMessage(chatId: number, messageId: number): TgMessage | undefined {
    const own = this.chats.botMessage(chatId, messageId);
    if (own !== undefined && !own.deleted) {
      return toWireMessage(own, this.chats.chat(chatId), this.bot);
    }
    return this.chats.userMessage(chatId, messageId);
  }

  private sendChatAction(p: Params): true {
    const chatId = chatIdParam(p);
    if (stringParam(p, 'action') === undefined) throw badRequest('action is empty');
    if (this.chats.isBlocked(chatId)) throw new ApiError(403, blockedDescription(this.chats.chat(chatId).type));
    this.threadOf(chatId, p, undefined);
    return true;
  }

  // ---- editing ----

  private editMessageText(p: Params): TgMessage {
    const m = this.editable(p);
    if (m.kind !== 'text') throw badRequest('there is no text in the message to edit');
    const text = stringParam(p, 'text') ?? '';
    const parseMode = normaliseParseMode(stringParam(p, 'parse_mode'));
    checkText(text, parseMode);
    // Like Telegram, an edit without reply_markup removes the inline keyboard.
    return this.applyEdit('editMessageText', m, { text, parseMode, replyMarkup: parseReplyMarkup(jsonParam(p, 'reply_markup')) });
  }

  private editMessageCaption(p: Params): TgMessage {
    const m = this.editable(p);
    if (m.kind === 'text') throw badRequest('there is no caption in the message to edit');
    const caption = stringParam(p, 'caption') ?? '';
    const parseMode = normaliseParseMode(stringParam(p, 'parse_mode'));
    checkCaption(caption, parseMode);
    return this.applyEdit('editMessageCaption', m, { caption, parseMode, replyMarkup: parseReplyMarkup(jsonParam(p, 'reply_markup')) });
  }

  private editMessageReplyMarkup(p: Params): TgMessage {
    const m = this.editable(p);
    return this.applyEdit('editMessageReplyMarkup', m, { ...versionOf(m), replyMarkup: parseReplyMarkup(jsonParam(p, 'reply_markup')) });
  }

  private editable(p: Params): SentMessage {
    if (stringParam(p, 'inline_message_id') !== undefined) {
      throw badRequest('inline_message_id is not supported by the stand-in');
    }
    const chatId = chatIdParam(p);
    this.refuseMigrated(chatId);
    const messageId = requiredIntParam(p, 'message_id', 'message identifier is not specified');
    const m = this.chats.botMessage(chatId, messageId);
    if (m !== undefined && !m.deleted) return m;
    if (this.chats.userMessage(chatId, messageId) !== undefined) throw badRequest("message can't be edited");
    throw badRequest('message to edit not found');
  }

  private applyEdit(method: string, m: SentMessage, next: MessageVersion): TgMessage {
    const current = versionOf(m);
    if (sameVersion(current, next)) throw badRequest(NOT_MODIFIED);
    this.admitSend(method, m.chatId);
    m.history.push(current);
    m.text = next.text;
    m.caption = next.caption;
    m.parseMode = next.parseMode;
    m.replyMarkup = next.replyMarkup;
    for (const key of ['text', 'caption', 'parseMode', 'replyMarkup'] as const) if (m[key] === undefined) delete m[key];
    m.inlineKeyboard = inlineKeyboardOf(m.replyMarkup);
    m.editCount += 1;
    m.editedAt = this.now();
    return this.wire(m);
  }

  private deleteMessage(p: Params): true {
    const chatId = chatIdParam(p);
    const messageId = requiredIntParam(p, 'message_id', 'message identifier is not specified');
    const m = this.chats.botMessage(chatId, messageId);
    if (m !== undefined && !m.deleted) {
      m.deleted = true;
      return true;
    }
    if (this.chats.removeUserMessage(chatId, messageId)) return true;
    throw badRequest('message to delete not found');
  }

  // ---- callbacks and commands ----

  private answerCallbackQuery(p: Params): true {
    const id = stringParam(p, 'callback_query_id');
    const entry = id === undefined ? undefined : this.callbackQueries.get(id);
    // A query can be answered once; Telegram refuses the second answer with this text.
    if (id === undefined || entry === undefined || entry.answered) throw badRequest(QUERY_INVALID);
    const text = stringParam(p, 'text');
    if (text !== undefined && text.length > MAX_CALLBACK_ANSWER_TEXT) throw badRequest('MESSAGE_TOO_LONG');
    entry.answered = true;
    this.answers.push(
      dropUndefined({
        callbackQueryId: id,
        text,
        showAlert: boolParam(p, 'show_alert') ?? false,
        url: stringParam(p, 'url'),
        cacheTime: intParam(p, 'cache_time'),
        at: this.now(),
      }),
    );
    return true;
  }

  private setMyCommands(p: Params): true {
    const raw = jsonParam(p, 'commands');
    if (!Array.isArray(raw)) throw badRequest('field "commands" must be of type Array');
    if (raw.length > 100) throw badRequest('BOT_COMMANDS_TOO_MUCH');
    const commands = raw.map((c): TgBotCommand => {
      if (!isRecord(c) || typeof c.command !== 'string' || !COMMAND_NAME.test(c.command)) {
        throw badRequest('BOT_COMMAND_INVALID');
      }
      if (typeof c.description !== 'string' || c.description.trim().length === 0 || c.description.length > 256) {
        throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
      }
      return { command: c.command, description: c.description };
    });
    const scope = jsonParam(p, 'scope');
    if (isRecord(scope) && typeof scope.type === 'string' && scope.type.startsWith('chat')) {
      const chatId = Number(scope.chat_id);
      if (!Number.isSafeInteger(chatId) || !this.chats.has(chatId)) throw badRequest('chat not found');
    }
    const key = commandKey(p);
    if (commands.length === 0) this.commandSets.delete(key);
    else this.commandSets.set(key, commands);
    return true;
  }
}

/** Key of a command list: its scope (default when omitted) and language code. */
export function commandKey(p: Params): string {
  const scope = jsonParam(p, 'scope');
  return scopeKey(isRecord(scope) ? scope : undefined, stringParam(p, 'language_code'));
}

export function scopeKey(scope: Record<string, unknown> | undefined, languageCode: string | undefined): string {
  const s = scope ?? { type: 'default' };
  const canonical = Object.keys(s).sort().map((k) => [k, s[k]]);
  return `${JSON.stringify(canonical)}|${languageCode ?? ''}`;
}

function checkText(text: string, parseMode: ReturnType<typeof normaliseParseMode>): void {
  if (text.trim().length === 0) throw badRequest('message text is empty');
  const visible = visibleText(text, parseMode);
  if (visible.trim().length === 0) throw badRequest('message text is empty');
  if (visible.length > MAX_TEXT) throw badRequest('message is too long');
}

function checkCaption(caption: string, parseMode: ReturnType<typeof normaliseParseMode>): void {
  if (visibleText(caption, parseMode).length > MAX_CAPTION) throw badRequest('message caption is too long');
}

function mediaParam(field: 'photo' | 'document', p: Params, files: MultipartFile[]): SentFile {
  const ref = stringParam(p, field);
  const attached = ref?.startsWith('attach://') === true ? ref.slice('attach://'.length) : field;
  const upload = files.find((f) => f.field === attached);
  if (upload !== undefined) {
    return dropUndefined({ field, filename: upload.filename, size: upload.data.length, contentType: upload.contentType });
  }
  if (ref !== undefined && ref !== '' && !ref.startsWith('attach://')) return { field, size: 0, reference: ref };
  throw badRequest(`there is no ${field} in the request`);
}

function blockedDescription(type: string): string {
  if (type === 'private') return 'Forbidden: bot was blocked by the user';
  if (type === 'channel') return 'Forbidden: bot is not a member of the channel chat';
  return `Forbidden: bot was kicked from the ${type} chat`;
}

function versionOf(m: SentMessage): MessageVersion {
  return dropUndefined({ text: m.text, caption: m.caption, parseMode: m.parseMode, replyMarkup: m.replyMarkup });
}

function sameVersion(a: MessageVersion, b: MessageVersion): boolean {
  const key = (v: MessageVersion): string => JSON.stringify([v.text, v.caption, v.parseMode, v.replyMarkup ?? null]);
  return key(a) === key(b);
}

/** Optional fields stay absent rather than `undefined`, so records compare cleanly with toEqual. */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

