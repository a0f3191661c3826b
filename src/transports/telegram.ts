import { Telegraf, TelegramError } from 'telegraf';
import type { CallbackQuery, Chat, Message, User } from 'telegraf/types';
import { parseCommandText } from '../../commands/text.js';
import { usage, type ButtonResult } from '../../commands/define.js';
import type { Invocation } from '../../commands/context.js';
import type { Reply } from '../chat/reply.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Desk, MessageRef, Notifier } from './desk.js';
import type { NotifyOptions } from '../services/alerts/notifier.js';
import { countRateLimits, describeError, isTelegramError, toDeliveryError } from './telegram-errors.js';
import { TelegramOutbound, type Gate, type SendOptions, type TelegramMessageKind } from './telegram-outbound.js';
import type { Menu } from './telegram-menu.js';
import { utc } from '../format.js';

type TelegramDest = { platform: 'telegram'; chatId: string; chatType: 'private' | 'group' };

/** The part of the notify queue's pacer a transport uses (src/services/alerts/pacing.ts implements it). */
export interface SendPacer {
  /** Waits for the chat's next place in the shared budget; resolves to a ticket for `finished`. */
  acquire(dest: TelegramDest, now: () => number, signal?: AbortSignal): Promise<string>;
  /** The admitted call has been answered. */
  finished(dest: TelegramDest, ticket: string): Promise<void>;
  /** Telegram said "retry after": nothing goes to this chat before `until` (epoch ms). */
  block(dest: TelegramDest, until: number): Promise<void>;
}

export interface TelegramOptions {
  desk: Desk;
  /** The bot token, revealed only to hand it to telegraf. */
  token: string;
  apiRoot: string;
  log: Logger;
  /**
   * The shared flood-limit budget of the notify queue (its Redis pacer): every message this transport posts or edits
   * — command replies, button updates, approval and alert messages — takes its place in it, so together they stay
   * under Telegram's limits. Without it, calls go out at once and a reply's 429 is waited out once.
   */
  pacer?: SendPacer;
  /** Clock of the pacer's reservations (the app's clock). */
  now?: () => number;
  /** Wait before polling again after 409 Conflict (another instance still holds getUpdates, e.g. after a restart). */
  conflictRetryMs?: number;
  /** True the first time an update id is seen by any replica (Redis); absent = every update is handled. */
  firstSeen?: (updateId: number) => Promise<boolean>;
  /** Command menus by scope (telegram-menu.ts); default: the read-only commands for everyone. */
  menus?: Menu[];
}

/** A command older than this when it arrives was typed while PerpDesk was down: it is not run later. */
export const STALE_COMMAND_MS = 60_000;

/** Telegram shows at most 200 characters in a callback answer. */
const CALLBACK_TEXT_MAX = 200;
const DESCRIPTION_MAX = 256;
/** Someone waiting this long for an answer sees "typing…" (renewed: Telegram shows it for about 5 s). */
const TYPING_AFTER_MS = 1_000;
const TYPING_EVERY_MS = 4_500;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Telegram group and channel ids are negative; private chats positive. */
function destOf(chatId: string): TelegramDest {
  return { platform: 'telegram', chatId, chatType: chatId.startsWith('-') ? 'group' : 'private' };
}

function displayName(u: User): string {
  if (u.username) return `@${u.username}`;
  return [u.first_name, u.last_name].filter(Boolean).join(' ') || String(u.id);
}

function invocation(from: User, chat: Chat, m?: Message): Invocation {
  // General-topic messages may carry a thread id too (a reply's root), but only a topic message is in a topic.
  const threadId = m && 'is_topic_message' in m && m.is_topic_message && m.message_thread_id !== undefined ? m.message_thread_id : undefined;
  return {
    platform: 'telegram',
    actor: { platform: 'telegram', userId: String(from.id), displayName: displayName(from), roleIds: [] },
    chatId: String(chat.id),
    chatType: chat.type === 'private' ? 'private' : 'group',
    ...(threadId === undefined ? {} : { threadId }),
  };
}

/**
 * Telegram adapter (telegraf, long polling): text commands from the registry (also `/cmd@Bot` in groups), inline
 * buttons routed to the desk, and the Notifier the alert queue sends through.
 *
 * telegraf handles a getUpdates batch together and polls again only when every handler has finished, so handlers
 * here only start the work: one slow /backtest must not hold up everyone else's commands.
 */
export class TelegramTransport implements Notifier {
  readonly platform = 'telegram' as const;
  readonly #bot: Telegraf;
  readonly #out: TelegramOutbound;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #polling: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #username = '';

  constructor(private readonly opts: TelegramOptions) {
    this.#bot = new Telegraf(opts.token, { telegram: { apiRoot: opts.apiRoot } });
    countRateLimits(this.#bot.telegram);
    this.#out = new TelegramOutbound(this.#bot.telegram);
    // Telegram confirms an update only with the next poll, so a leader killed right after answering leaves it
    // unconfirmed and its successor receives it again: an update is handled once per deployment, not per process.
    const firstSeen = opts.firstSeen;
    if (firstSeen) {
      this.#bot.use(async (ctx, next) => {
        if (await firstSeen(ctx.update.update_id).catch(() => true)) await next();
      });
    }
    this.#bot.on('message', (ctx) => {
      const m = ctx.message;
      // A group upgraded to a supergroup: Telegram says so in both chats; the old id's roles move to the new one.
      if ('migrate_to_chat_id' in m) this.#spawn('migration', () => this.#migrated(String(ctx.chat.id), String(m.migrate_to_chat_id)));
      else if ('migrate_from_chat_id' in m) this.#spawn('migration', () => this.#migrated(String(m.migrate_from_chat_id), String(ctx.chat.id)));
      // Other bots in a group must not be able to drive this one.
      else if ('text' in m && m.from && !m.from.is_bot) this.#spawn('command', () => this.#onText(m, m.from!, ctx.chat));
    });
    this.#bot.on('callback_query', (ctx) => {
      this.#spawn('button', () => this.#onButton(ctx.callbackQuery));
    });
    this.#bot.catch((err) => this.opts.log.error({ err: this.#describe(err) }, 'telegram update failed'));
  }

  /** The bot's @username (known after start). */
  get username(): string {
    return this.#username;
  }

  /** Checks the token, publishes the command menu, then polls in the background until close(). */
  async start(): Promise<void> {
    try {
      const me = await this.#bot.telegram.getMe();
      this.#bot.botInfo = me;
      this.#username = me.username;
      await this.#bot.telegram.setMyCommands(this.#menuItems(this.#menus[0]!));
    } catch (e) {
      if (isTelegramError(e, 401) || isTelegramError(e, 404)) throw new ConfigError('TELEGRAM_BOT_TOKEN was rejected by Telegram (Unauthorized)');
      throw new Error(`Telegram start-up failed: ${this.#describe(e).message}`);
    }
    for (const menu of this.#menus.slice(1)) await this.#setMenu(menu);
    this.#polling = this.#poll();
    this.opts.log.info({ bot: this.#username }, 'telegram polling started');
  }

  /** The default menu first (the read-only commands), then the per-chat ones. */
  get #menus(): Menu[] {
    const menus = this.opts.menus ?? [];
    const byDefault = menus.find((m) => m.scope.type === 'default') ?? {
      scope: { type: 'default' as const },
      commands: this.opts.desk.commands.filter((c) => c.role === 'viewer').map((c) => c.name),
    };
    return [byDefault, ...menus.filter((m) => m.scope.type !== 'default')];
  }

  #menuItems(menu: Menu) {
    return this.opts.desk.commands
      .filter((c) => menu.commands.includes(c.name))
      .map((c) => ({ command: c.name, description: (c.description || c.name).slice(0, DESCRIPTION_MAX) }));
  }

  /** A chat's menu; a person who never opened a chat with the bot is "chat not found" until they do: logged, not fatal. */
  async #setMenu(menu: Menu): Promise<void> {
    await this.#bot.telegram.setMyCommands(this.#menuItems(menu), { scope: menu.scope }).catch((e: unknown) => {
      this.opts.log.warn({ err: this.#describe(e), scope: menu.scope.type, chat: 'chat_id' in menu.scope ? menu.scope.chat_id : undefined }, 'telegram command menu not set');
    });
  }

  /** A group became a supergroup: PerpDesk moves its subscription and roles, and its menu follows. */
  async #migrated(from: string, to: string): Promise<void> {
    await this.opts.desk.chatMigrated?.('telegram', from, to);
    const menu = this.#menus.find((m) => m.scope.type === 'chat' && String(m.scope.chat_id) === from);
    if (menu) await this.#setMenu({ ...menu, scope: { type: 'chat', chat_id: Number(to) } });
  }

  async #poll(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        // launch() resolves only when polling stops.
        await this.#bot.launch({ allowedUpdates: ['message', 'callback_query'] });
        return;
      } catch (e) {
        if (signal.aborted) return;
        if (isTelegramError(e, 401)) {
          this.opts.log.error({}, 'telegram token rejected; polling stopped');
          return;
        }
        const conflict = isTelegramError(e, 409);
        this.opts.log.warn(
          { err: this.#describe(e) },
          conflict ? 'telegram getUpdates conflict (another instance is polling); retrying' : 'telegram polling failed; retrying',
        );
        await sleep(this.opts.conflictRetryMs ?? 5_000, signal);
      }
    }
  }

  #spawn(what: string, work: () => Promise<void>): void {
    const p = work()
      .catch((e: unknown) => this.opts.log.error({ err: this.#describe(e), what }, 'telegram handler failed'))
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Resolves once every update received so far has been answered (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size) await Promise.allSettled([...this.#inFlight]);
  }

  async #onText(m: Message.TextMessage, from: User, chat: Chat): Promise<void> {
    const { desk } = this.opts;
    const isPrivate = chat.type === 'private';
    const chatId = String(chat.id);
    const replyTo = isPrivate ? undefined : m.message_id;
    const parsed = parseCommandText(m.text, desk.commands, this.#username);
    const inv = invocation(from, chat, m);
    if (parsed === null) {
      // Groups are full of conversation that is not for us; only a private chat gets a hint (a stranger: the refusal).
      if (isPrivate && !m.text.startsWith('/')) {
        const refused = await desk.accessRefusal?.(inv, 'text');
        await this.#answer(chatId, refused ?? { text: 'Send a command, e.g. /funding BTC-PERP. /help lists them all.' });
      }
      return;
    }
    let name = 'error' in parsed ? (/^\/([a-z0-9_]+)/i.exec(m.text)?.[1]?.toLowerCase() ?? '') : parsed.name;
    const known = desk.commands.some((c) => c.name === name);
    if (!known && name === 'start') name = 'help'; // Telegram's "Start" button sends /start.
    else if (!known && !isPrivate && !m.text.split(/\s/)[0]!.includes('@')) return; // maybe another bot's command
    // A stranger learns nothing here, not even the usage of a command.
    const refused = await desk.accessRefusal?.(inv, `/${name}`);
    if (refused) {
      await this.#answer(chatId, refused, { replyTo });
      return;
    }
    const notRun = notRunReason(m, (this.opts.now ?? Date.now)(), name);
    if (notRun) {
      await this.#answer(chatId, { text: notRun, severity: 'warning' }, { replyTo });
      return;
    }
    const def = desk.commands.find((c) => c.name === name);
    if ('error' in parsed) {
      await this.#answer(chatId, { text: def ? `${parsed.error} Usage: ${usage(def)}` : parsed.error, severity: 'warning' }, { replyTo });
      return;
    }
    if (def?.slow) void this.#bot.telegram.sendChatAction(chatId, 'typing').catch(() => {});
    const reply = await desk.command(name, parsed.args, inv);
    const sent = await this.#answer(chatId, reply, { replyTo });
    if (sent && reply.track) await desk.messageSent(reply.track, { platform: 'telegram', chatId, messageId: String(sent.messageId) });
  }

  async #onButton(q: CallbackQuery): Promise<void> {
    const data = 'data' in q ? q.data : undefined;
    if (data === undefined || !q.message) {
      await this.#answerCallback(q.id, 'This button is not supported here.', true);
      return;
    }
    const chat = q.message.chat;
    const chatId = String(chat.id);
    const result: ButtonResult = await this.opts.desk.button(data, invocation(q.from, chat)).catch((e: unknown) => {
      this.opts.log.error({ err: this.#describe(e) }, 'telegram button failed');
      return { notice: 'Something went wrong; please try again.' };
    });
    try {
      // Telegram keeps a spinner on the button until the query is answered, so it is answered whatever happened.
      await this.#answerCallback(q.id, result.notice, !result.update && Boolean(result.notice));
      if (!result.update) return;
      const accessible = q.message.date !== 0;
      let messageId = q.message.message_id;
      if (accessible) {
        const kind: TelegramMessageKind = 'photo' in q.message ? 'photo' : 'text';
        await this.#out.edit(chatId, messageId, result.update, kind, this.#gate(chatId));
      } else {
        // Too old for Telegram to let us see (or edit) it: post the new state instead.
        const sent = await this.#answer(chatId, result.update);
        if (!sent) return;
        messageId = sent.messageId;
      }
      if (result.update.track) {
        await this.opts.desk.messageSent(result.update.track, { platform: 'telegram', chatId, messageId: String(messageId) });
      }
    } finally {
      // Edits of the message's copies in other chats follow the clicker's answer.
      await result.afterAnswer?.();
    }
  }

  async #answerCallback(id: string, text: string | undefined, showAlert: boolean): Promise<void> {
    const clipped = text && text.length > CALLBACK_TEXT_MAX ? `${text.slice(0, CALLBACK_TEXT_MAX - 1)}…` : text;
    await this.#bot.telegram.answerCbQuery(id, clipped, { show_alert: showAlert && Boolean(clipped) }).catch((e: unknown) => {
      this.opts.log.warn({ err: this.#describe(e) }, 'telegram callback answer failed');
    });
  }

  /**
   * Sends an answer to a person. It waits for the chat's place in the shared budget however long that takes (a full
   * group window is a minute): sending into a full window only earns a 429. Should Telegram still answer 429 (another
   * client on the same token), the chat is blocked for retry_after and the answer waits its turn again, once.
   */
  async #answer(chatId: string, reply: Reply, opts: SendOptions = {}) {
    const stopTyping = this.#typingWhileWaiting(chatId);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#out.send(chatId, reply, { ...opts, gate: this.#gate(chatId) });
        } catch (e) {
          const retryMs = e instanceof TelegramError && e.code === 429 ? (e.parameters?.retry_after ?? 1) * 1000 : undefined;
          if (attempt === 0 && retryMs !== undefined && !this.#stop.signal.aborted) {
            if (this.opts.pacer) await this.opts.pacer.block(destOf(chatId), Date.now() + retryMs).catch(() => undefined);
            else await sleep(retryMs, this.#stop.signal);
            continue;
          }
          this.opts.log.warn({ err: this.#describe(e), chatId }, 'telegram reply not delivered');
          return undefined;
        }
      }
    } finally {
      stopTyping();
    }
  }

  /**
   * The gate every post or edit to this chat passes: its place in the shared budget first, then the call, then the
   * end of the call recorded (windows count from when Telegram answered, so latency needs no margin).
   */
  #gate(chatId: string): Gate {
    const pacer = this.opts.pacer;
    if (!pacer) return (call) => call();
    const dest = destOf(chatId);
    const now = this.opts.now ?? Date.now;
    return async (call) => {
      const ticket = await pacer.acquire(dest, now, this.#stop.signal);
      try {
        return await call();
      } catch (e) {
        if (e instanceof TelegramError && e.code === 429) {
          await pacer.block(dest, Date.now() + (e.parameters?.retry_after ?? 1) * 1000).catch(() => undefined);
        }
        throw e;
      } finally {
        await pacer.finished(dest, ticket).catch(() => undefined);
      }
    };
  }

  /** Shows "typing…" in the chat while an answer waits for its turn; returns the function that stops it. */
  #typingWhileWaiting(chatId: string): () => void {
    if (!this.opts.pacer) return () => {};
    const typing = () => void this.#bot.telegram.sendChatAction(chatId, 'typing').catch(() => {});
    let every: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      typing();
      every = setInterval(typing, TYPING_EVERY_MS);
    }, TYPING_AFTER_MS);
    return () => {
      clearTimeout(first);
      clearInterval(every);
    };
  }

  // ---- Notifier (alerts and approval results) ----

  async send(chatId: string, reply: Reply, opts: NotifyOptions = {}): Promise<MessageRef> {
    const post = (id: string, threadId: number | undefined) =>
      this.#out.send(id, reply, { singleMessage: true, gate: opts.admitted ? undefined : this.#gate(id), silent: opts.silent, threadId });
    try {
      const sent = await this.#toChat(chatId, async (id) => {
        try {
          return await post(id, opts.threadId);
        } catch (e) {
          // A forum topic that was deleted or closed (or a mistyped topic id) must not hold the chat's alerts back:
          // the alert goes to the General topic instead, as a kind without a topic does.
          if (opts.threadId === undefined || !isTelegramError(e, 400, TOPIC_REFUSED)) throw e;
          this.opts.log.warn({ chatId: id, threadId: opts.threadId, err: this.#describe(e) }, 'forum topic refused the alert; posted in the General topic');
          return post(id, undefined);
        }
      });
      return { platform: 'telegram', chatId: sent.chatId, messageId: String(sent.result.messageId) };
    } catch (e) {
      throw toDeliveryError(e, this.opts.token);
    }
  }

  async edit(ref: MessageRef, reply: Reply, opts: NotifyOptions = {}): Promise<void> {
    try {
      await this.#toChat(ref.chatId, (id) => this.#out.edit(id, Number(ref.messageId), reply, undefined, opts.admitted ? undefined : this.#gate(id)));
    } catch (e) {
      throw toDeliveryError(e, this.opts.token);
    }
  }

  /**
   * Runs a send or edit in the chat as it is now: a group upgraded to a supergroup lives under a new id (known from
   * the migration, or learned from Telegram's answer, then tried once more there), never dropped as a dead chat.
   */
  async #toChat<T>(chatId: string, act: (id: string) => Promise<T>): Promise<{ chatId: string; result: T }> {
    const id = (await this.opts.desk.currentChat?.('telegram', chatId)) ?? chatId;
    try {
      return { chatId: id, result: await act(id) };
    } catch (e) {
      const to = e instanceof TelegramError && e.code === 400 ? e.parameters?.migrate_to_chat_id : undefined;
      if (to === undefined) throw e;
      await this.#migrated(id, String(to));
      return { chatId: String(to), result: await act(String(to)) };
    }
  }

  #describe(e: unknown) {
    return describeError(e, this.opts.token);
  }

  /** Stops polling, then waits for the answers already under way. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stop.abort();
    const polling = this.#polling;
    if (polling) {
      let done = false;
      void polling.finally(() => (done = true));
      // stop() throws until launch() has created its poller (getMe/deleteWebhook still running): keep asking.
      while (!done) {
        try {
          this.#bot.stop('close');
        } catch {
          // not polling yet
        }
        await Promise.race([polling, new Promise((r) => setTimeout(r, 50))]);
      }
    }
    await this.idle();
    this.opts.log.info({}, 'telegram transport closed');
  }
}

/** Telegram's answers for a message_thread_id it will not post in. */
const TOPIC_REFUSED = /message thread not found|TOPIC_CLOSED|TOPIC_DELETED/i;

/**
 * Why a command message is not run, or null. A forwarded command was written by someone else (maybe long ago), and a
 * command older than STALE_COMMAND_MS was typed while PerpDesk was down: running either now could place an order
 * nobody wants any more.
 */
function notRunReason(m: Message.TextMessage, now: number, name: string): string | null {
  if ('forward_origin' in m && m.forward_origin) return `Not run: /${name} was forwarded. Type the command yourself if you want it.`;
  const sentAt = m.date * 1000;
  if (now - sentAt > STALE_COMMAND_MS) {
    return `Not run: /${name} was sent at ${utc(sentAt)}, while PerpDesk was offline. Send it again if you still want it.`;
  }
  return null;
}
