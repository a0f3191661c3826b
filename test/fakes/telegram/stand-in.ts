import type { AddressInfo } from 'node:net';
import { BotApi, SEND_METHODS, scopeKey } from './bot-api.js';
import { TELEGRAM_LIMITS, type RateLimits } from './rate-limiter.js';
import { createBotApiServer } from './server.js';
import type {
  ApiCall, CallbackAnswer, ChatType, ForumTopic, RateLimitedCall, SentMessage, TgBotCommand, TgBotUser, TgChat, TgMessage,
  TgMessageEntity, TgUpdate, TgUser, UnhandledCall, Violation,
} from './types.js';

export interface TelegramStandInOptions {
  /** `<botId>:<secret>`; requests under any other token get 401. */
  token?: string;
  /** getMe's username, without `@`; `/cmd@<botUsername>` addresses this bot. */
  botUsername?: string;
  botName?: string;
  /** Override some limits, or `false` to accept any rate (e.g. to measure a client without throttling). */
  limits?: Partial<RateLimits> | false;
  /**
   * Count edits (editMessageText/Caption/ReplyMarkup) against the same per-chat and bot-wide limits as sends, as
   * Telegram does when a bot edits fast. Off by default.
   */
  limitEdits?: boolean;
  /** Clock in epoch ms for rate windows and message dates; pass a manual clock for deterministic limit tests. */
  now?: () => number;
}

export interface SendTextInput {
  chatId: number;
  /** Defaults from the id: positive → private, -100… → supergroup, other negative → group. */
  chatType?: ChatType;
  /** The sender; defaults to `chatId` in private chats (where Telegram makes them equal), required elsewhere. */
  fromId?: number;
  text: string;
  username?: string;
  firstName?: string;
  chatTitle?: string;
  replyToMessageId?: number;
  /** When the user sent it, epoch seconds (default now): an older date is what a bot finds queued after downtime. */
  date?: number;
  /** Forwarded from this user (`forward_origin`), written at `date`. */
  forwardedFrom?: { userId: number; date?: number };
  /** Written in this forum topic (see `makeForum` / `createTopic`). */
  threadId?: number;
}

export interface ClickButtonInput {
  chatId: number;
  /** Who clicked; defaults to `chatId` in private chats. */
  fromId?: number;
  messageId: number;
  /** The button's callback_data. */
  data: string;
  username?: string;
  /**
   * Telegram only delivers data of a button that is on the message. By default a click on a missing
   * message/button throws (a test mistake); `force` sends it anyway, e.g. to test forged or stale data.
   */
  force?: boolean;
}

export interface ForceRateLimitOptions {
  /** Seconds reported in retry_after (default 1). */
  retryAfter?: number;
  /** Methods the forced 429s apply to (default sendMessage, sendPhoto, sendDocument). */
  methods?: readonly string[];
}

const DEFAULT_TOKEN = '123456789:stand-in-secret-token';
const DEFAULT_WAIT_MS = 5_000;

/**
 * Starts a local Telegram Bot API on 127.0.0.1 (random port). Point a real client at it:
 * `new Telegraf(tg.token, { telegram: { apiRoot: tg.apiRoot } })`. See README.md in this folder.
 */
export async function startTelegramStandIn(options: TelegramStandInOptions = {}): Promise<TelegramStandIn> {
  const token = options.token ?? DEFAULT_TOKEN;
  const botId = Number(/^(\d+):/.exec(token)?.[1]);
  if (!Number.isSafeInteger(botId)) throw new Error('stand-in token must look like <botId>:<secret>');
  const bot: TgBotUser = {
    id: botId,
    is_bot: true,
    first_name: options.botName ?? 'PerpDesk Test',
    username: options.botUsername ?? 'perpdesk_test_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  };
  const limits = options.limits === false ? false : { ...TELEGRAM_LIMITS, ...options.limits };
  const api = new BotApi({ bot, limits, limitEdits: options.limitEdits, now: options.now ?? Date.now });
  const server = createBotApiServer(api, token);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return new TelegramStandIn(api, token, `http://127.0.0.1:${port}`, async () => {
    api.updates.release();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** Test driver: plays the users (updates in) and inspects what the bot did (messages, answers, limits). */
export class TelegramStandIn {
  private nextCallbackId = 1;
  private closed = false;
  private readonly waits = new Set<(reason: Error) => void>();

  constructor(
    private readonly api: BotApi,
    /** The token the stand-in accepts. */
    readonly token: string,
    /** Base URL for the client (`telegram.apiRoot` in telegraf). */
    readonly apiRoot: string,
    private readonly shutdown: () => Promise<void>,
  ) {}

  /** What getMe answers. */
  get bot(): TgBotUser {
    return { ...this.api.bot };
  }

  // ---- users acting ----

  /** A user writes `text`; `/commands` (also `/cmd@Bot`) and `@mentions` get entities like Telegram's. */
  sendText(input: SendTextInput): { updateId: number; messageId: number } {
    this.userChat(input.chatId, input.chatType, input.chatTitle, input.username, input.firstName);
    const chat = this.api.chats.chat(input.chatId); // with is_forum, as Telegram's updates carry it
    const from = this.user(input.chatId, chat.type, input.fromId, input.username, input.firstName);
    const message: TgMessage = {
      message_id: this.api.chats.allocateMessageId(chat.id),
      from,
      chat,
      date: input.date ?? Math.floor(this.api.now() / 1000),
      text: input.text,
    };
    if (input.forwardedFrom !== undefined) {
      const f = input.forwardedFrom;
      message.forward_origin = { type: 'user', sender_user: { id: f.userId, is_bot: false, first_name: `User ${f.userId}` }, date: f.date ?? message.date };
    }
    if (input.threadId !== undefined) {
      const topic = this.api.chats.topic(chat.id, input.threadId);
      if (topic === undefined || topic.deleted) throw new Error(`chat ${chat.id} has no topic ${input.threadId}`);
      message.message_thread_id = input.threadId;
      message.is_topic_message = true;
    }
    const entities = detectEntities(input.text);
    if (entities.length > 0) message.entities = entities;
    if (input.replyToMessageId !== undefined) {
      const target = this.api.chats.botMessage(chat.id, input.replyToMessageId);
      if (target === undefined) throw new Error(`no bot message ${input.replyToMessageId} in chat ${chat.id} to reply to`);
      message.reply_to_message = this.api.wire(target);
    }
    this.api.chats.addUserMessage(message);
    const updateId = this.api.updates.push({ message });
    return { updateId, messageId: message.message_id };
  }

  /** A user clicks an inline button; returns the callback query id the bot must answer. */
  clickButton(input: ClickButtonInput): string {
    const chat = this.api.chats.chat(input.chatId);
    const from = this.user(input.chatId, chat.type, input.fromId, input.username, undefined);
    const target = this.api.chats.botMessage(input.chatId, input.messageId);
    const live = target !== undefined && !target.deleted ? target : undefined;
    if (input.force !== true) {
      if (live === undefined) throw new Error(`no live bot message ${input.messageId} in chat ${input.chatId}`);
      const buttons = live.inlineKeyboard.flat();
      if (!buttons.some((b) => b.callback_data === input.data)) {
        const offered = buttons.map((b) => b.callback_data ?? `(url ${String(b.url)})`).join(', ');
        throw new Error(`message ${input.messageId} has no button with data "${input.data}" (has: ${offered || 'none'})`);
      }
    }
    const id = `${this.api.bot.id}${String(this.nextCallbackId++).padStart(6, '0')}`;
    // A message the bot can no longer see arrives as Telegram's InaccessibleMessage (date 0).
    const message = live === undefined ? { message_id: input.messageId, chat, date: 0 } : this.api.wire(live);
    const query = { id, from, message, chat_instance: `ci${input.chatId}`, data: input.data };
    this.api.callbackQueries.set(id, { query, answered: false });
    this.api.updates.push({ callback_query: query });
    return id;
  }

  /**
   * The group becomes supergroup `to`, as when an admin upgrades it: from then on sends and edits to `from` answer 400
   * with `migrate_to_chat_id`, and the bot gets the two service messages (`migrate_to_chat_id` in the old chat,
   * `migrate_from_chat_id` in the new). Returns their update ids.
   */
  migrateChat(from: number, to: number, byUserId: number, opts: { serviceMessages?: boolean } = {}): number[] {
    if (from >= 0 || to > -1_000_000_000_000) throw new Error('a group (negative id) migrates to a supergroup (-100… id)');
    const old = this.api.chats.chat(from);
    const next: TgChat = { id: to, type: 'supergroup', title: old.title ?? `Chat ${to}` };
    this.api.chats.remember(next);
    this.api.chats.setMigrated(from, to);
    const by: TgUser = { id: byUserId, is_bot: false, first_name: `User ${byUserId}` };
    // Without the service messages (a bot that missed them) only a send or edit to the old id tells the bot.
    if (opts.serviceMessages === false) return [];
    const date = Math.floor(this.api.now() / 1000);
    const a = this.api.updates.push({ message: { message_id: this.api.chats.allocateMessageId(from), from: by, chat: old, date, migrate_to_chat_id: to } });
    const b = this.api.updates.push({ message: { message_id: this.api.chats.allocateMessageId(to), from: by, chat: next, date, migrate_from_chat_id: from } });
    return [a, b];
  }

  /** Queues any other update (e.g. `{ my_chat_member: ... }`); returns its update_id. */
  sendUpdate(update: Omit<TgUpdate, 'update_id'>): number {
    return this.api.updates.push(update);
  }

  // ---- inspecting the bot ----

  /** Messages the bot sent to the chat, oldest first, edits applied; deleted ones only with includeDeleted. */
  messages(chatId: number, opts: { includeDeleted?: boolean } = {}): SentMessage[] {
    return this.api.chats
      .botMessages(chatId)
      .filter((m) => opts.includeDeleted === true || !m.deleted)
      .map((m) => structuredClone(m));
  }

  message(chatId: number, messageId: number): SentMessage | undefined {
    const m = this.api.chats.botMessage(chatId, messageId);
    return m === undefined ? undefined : structuredClone(m);
  }

  /**
   * Resolves with the first live bot message in the chat that satisfies `predicate`, re-checked on every
   * send and edit, so it also waits for an edit to land. Messages already there count: to wait for a new
   * one, filter on `messageId` greater than the last you saw.
   */
  waitForMessage(
    chatId: number,
    predicate: (m: SentMessage) => boolean = () => true,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<SentMessage> {
    return this.waitFor(
      () => this.messages(chatId).find(predicate),
      timeoutMs,
      () => `no matching message in chat ${chatId}; bot sent: ${JSON.stringify(this.messages(chatId).map((m) => m.text ?? m.caption ?? m.kind))}`,
    );
  }

  waitForCallbackAnswer(callbackQueryId: string, timeoutMs = DEFAULT_WAIT_MS): Promise<CallbackAnswer> {
    return this.waitFor(
      () => this.callbackAnswers().find((a) => a.callbackQueryId === callbackQueryId),
      timeoutMs,
      () => `callback query ${callbackQueryId} was not answered`,
    );
  }

  /** Resolves once the bot's getUpdates offset moved past the update, i.e. it finished handling that batch. */
  waitForConfirmed(updateId: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.waitFor(
      () => (this.api.updates.isConfirmed(updateId) ? true : undefined),
      timeoutMs,
      () => `update ${updateId} was not confirmed by getUpdates`,
    ).then(() => undefined);
  }

  callbackAnswers(): CallbackAnswer[] {
    return structuredClone(this.api.answers);
  }

  /** The command list for a scope (default scope, no language unless given), as set by setMyCommands. */
  commands(opts: { scope?: Record<string, unknown>; languageCode?: string } = {}): TgBotCommand[] {
    return structuredClone(this.api.commandSets.get(scopeKey(opts.scope, opts.languageCode)) ?? []);
  }

  /** Sends refused for breaking a flood limit. A well-behaved client keeps this empty. */
  violations(): Violation[] {
    return structuredClone(this.api.violations);
  }

  /** Every 429 answered, forced ones included. */
  rateLimited(): RateLimitedCall[] {
    return structuredClone(this.api.rateLimited);
  }

  /** Calls to methods the stand-in does not implement (each answered 404). */
  unhandled(): UnhandledCall[] {
    return structuredClone(this.api.unhandled);
  }

  /** Every HTTP call with its outcome, optionally for one method; getUpdates included. */
  calls(method?: string): ApiCall[] {
    return structuredClone(method === undefined ? this.api.calls : this.api.calls.filter((c) => c.method === method));
  }

  /** True while a getUpdates long poll is held open (a second poller would get 409 now). */
  polling(): boolean {
    return this.api.updates.polling;
  }

  /** Updates not yet confirmed by the bot. */
  pendingUpdates(): number {
    return this.api.updates.pendingCount();
  }

  // ---- forum topics ----

  /** Turns the supergroup into a forum with these topics; returns their ids (message_thread_id), in order. */
  makeForum(chatId: number, topicNames: readonly string[] = []): number[] {
    this.api.chats.makeForum(chatId);
    return topicNames.map((name) => this.api.chats.createTopic(chatId, name).threadId);
  }

  /** A new topic in a forum; returns its message_thread_id. */
  createTopic(chatId: number, name: string): number {
    return this.api.chats.createTopic(chatId, name).threadId;
  }

  /** Sends to a closed topic answer 400 TOPIC_CLOSED until it is reopened. */
  closeTopic(chatId: number, threadId: number, closed = true): void {
    const t = this.api.chats.topic(chatId, threadId);
    if (t === undefined) throw new Error(`chat ${chatId} has no topic ${threadId}`);
    t.closed = closed;
  }

  /** Sends to a deleted topic answer 400 "message thread not found". */
  deleteTopic(chatId: number, threadId: number): void {
    const t = this.api.chats.topic(chatId, threadId);
    if (t === undefined) throw new Error(`chat ${chatId} has no topic ${threadId}`);
    t.deleted = true;
  }

  topics(chatId: number): ForumTopic[] {
    return this.api.chats.topics(chatId).map((t) => ({ ...t }));
  }

  // ---- steering ----

  /** The user blocked the bot (private) or removed it (groups): sends and chat actions get 403. */
  blockChat(chatId: number): void {
    this.api.chats.setBlocked(chatId, true);
  }

  unblockChat(chatId: number): void {
    this.api.chats.setBlocked(chatId, false);
  }

  /** The next `count` sends answer 429 regardless of limits (recorded in rateLimited(), not violations()). */
  forceRateLimit(count: number, opts: ForceRateLimitOptions = {}): void {
    this.api.forceRateLimit(count, opts.retryAfter ?? 1, new Set(opts.methods ?? SEND_METHODS));
  }

  /** Ends any long poll, closes every connection and rejects pending waits. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const reject of [...this.waits]) reject(new Error('Telegram stand-in closed'));
    await this.shutdown();
  }

  // ---- internals ----

  private waitFor<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const hit = check();
    if (hit !== undefined) return Promise.resolve(hit);
    if (this.closed) return Promise.reject(new Error('Telegram stand-in closed'));
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        off();
        this.waits.delete(fail);
      };
      const fail = (reason: Error): void => {
        finish();
        reject(reason);
      };
      const off = this.api.onChange(() => {
        const value = check();
        if (value === undefined) return;
        finish();
        resolve(value);
      });
      const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms: ${describe()}`)), timeoutMs);
      this.waits.add(fail);
    });
  }

  private userChat(chatId: number, type: ChatType | undefined, title: string | undefined, username: string | undefined, firstName: string | undefined): TgChat {
    const known = this.api.chats.chat(chatId);
    const chatType = type ?? known.type;
    if ((chatType === 'private') !== chatId > 0) {
      throw new Error(`chat ${chatId} cannot be ${chatType}: Telegram gives private chats positive ids, groups negative`);
    }
    const chat: TgChat =
      chatType === 'private'
        ? { id: chatId, type: chatType, first_name: firstName ?? known.first_name ?? `User ${chatId}`, ...(username === undefined ? {} : { username }) }
        : { id: chatId, type: chatType, title: title ?? known.title ?? `Chat ${chatId}` };
    this.api.chats.remember(chat);
    return chat;
  }

  private user(chatId: number, chatType: ChatType, fromId: number | undefined, username: string | undefined, firstName: string | undefined): TgUser {
    const id = fromId ?? (chatType === 'private' ? chatId : undefined);
    if (id === undefined) throw new Error(`fromId is required in ${chatType} chat ${chatId}`);
    if (chatType === 'private' && id !== chatId) throw new Error(`in private chat ${chatId} the sender must be user ${chatId}`);
    return { id, is_bot: false, first_name: firstName ?? `User ${id}`, ...(username === undefined ? {} : { username }) };
  }
}

const ENTITY_PATTERNS: Array<[string, RegExp]> = [
  ['bot_command', /(?<![\w/])\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@])/g],
  ['mention', /(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)/g],
];

/** Entities Telegram adds to plain user text; offsets in UTF-16 units, like the Bot API's. */
export function detectEntities(text: string): TgMessageEntity[] {
  const found: TgMessageEntity[] = [];
  for (const [type, pattern] of ENTITY_PATTERNS) {
    for (const m of text.matchAll(pattern)) found.push({ type, offset: m.index, length: m[0].length });
  }
  return found.sort((a, b) => a.offset - b.offset);
}

