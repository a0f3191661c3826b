import { Telegraf, TelegramError } from 'telegraf';
import type { CallbackQuery, Chat, Message, User } from 'telegraf/types';
import { parseCommandText } from '../../commands/text.js';
import { usage, type ButtonResult } from '../../commands/define.js';
import type { Invocation } from '../../commands/context.js';
import type { Reply } from '../chat/reply.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Desk, MessageRef, Notifier } from './desk.js';
import { describeError, isTelegramError, toDeliveryError } from './telegram-errors.js';
import { TelegramOutbound, type SendOptions, type TelegramMessageKind } from './telegram-outbound.js';

/** The part of the notify queue's pacer a transport uses (src/services/alerts/pacing.ts implements it). */
export interface SendPacer {
  /** Reserves the chat's next send slot; resolves to its time (epoch ms on the `now` clock). */
  reserve(dest: { platform: 'telegram'; chatId: string; chatType: 'private' | 'group' }, now: number): Promise<number>;
  /** 0 = send now (and the send is recorded), else milliseconds to wait before asking again. */
  admit(dest: { platform: 'telegram'; chatId: string; chatType: 'private' | 'group' }): Promise<number>;
}

export interface TelegramOptions {
  desk: Desk;
  /** The bot token, revealed only to hand it to telegraf. */
  token: string;
  apiRoot: string;
  log: Logger;
  /**
   * The shared flood-limit budget of the notify queue (its Redis pacer), so command replies and alerts together stay
   * under Telegram's limits. Without it, replies go out at once and a 429 is waited out once.
   */
  pacer?: SendPacer;
  /** Clock of the pacer's reservations (the app's clock). */
  now?: () => number;
  /** Wait before polling again after 409 Conflict (another instance still holds getUpdates, e.g. after a restart). */
  conflictRetryMs?: number;
}

/** Telegram shows at most 200 characters in a callback answer. */
const CALLBACK_TEXT_MAX = 200;
const DESCRIPTION_MAX = 256;
/** A reply to a person may wait out one flood limit; longer waits are not worth holding the answer for. */
const MAX_REPLY_WAIT_MS = 30_000;

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

function displayName(u: User): string {
  if (u.username) return `@${u.username}`;
  return [u.first_name, u.last_name].filter(Boolean).join(' ') || String(u.id);
}

function invocation(from: User, chat: Chat): Invocation {
  return {
    platform: 'telegram',
    actor: { platform: 'telegram', userId: String(from.id), displayName: displayName(from), roleIds: [] },
    chatId: String(chat.id),
    chatType: chat.type === 'private' ? 'private' : 'group',
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
    this.#out = new TelegramOutbound(this.#bot.telegram);
    this.#bot.on('message', (ctx) => {
      const m = ctx.message;
      // Other bots in a group must not be able to drive this one.
      if ('text' in m && m.from && !m.from.is_bot) this.#spawn('command', () => this.#onText(m, m.from!, ctx.chat));
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
      await this.#bot.telegram.setMyCommands(
        this.opts.desk.commands.map((c) => ({ command: c.name, description: (c.description || c.name).slice(0, DESCRIPTION_MAX) })),
      );
    } catch (e) {
      if (isTelegramError(e, 401) || isTelegramError(e, 404)) throw new ConfigError('TELEGRAM_BOT_TOKEN was rejected by Telegram (Unauthorized)');
      throw new Error(`Telegram start-up failed: ${this.#describe(e).message}`);
    }
    this.#polling = this.#poll();
    this.opts.log.info({ bot: this.#username }, 'telegram polling started');
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
    const inv = invocation(from, chat);
    if (parsed === null) {
      // Groups are full of conversation that is not for us; only a private chat gets a hint (a stranger: the refusal).
      if (isPrivate && !m.text.startsWith('/')) {
        const refused = await desk.accessRefusal?.(inv, 'text');
        await this.#answer(chatId, refused ?? { text: 'Send a command, e.g. /funding BTC-PERP. /help lists them all.' });
      }
      return;
    }
    if ('error' in parsed) {
      const name = /^\/([a-z0-9_]+)/i.exec(m.text)?.[1]?.toLowerCase();
      const def = desk.commands.find((c) => c.name === name);
      await this.#answer(chatId, { text: def ? `${parsed.error} Usage: ${usage(def)}` : parsed.error, severity: 'warning' }, { replyTo });
      return;
    }
    let name = parsed.name;
    const known = desk.commands.some((c) => c.name === name);
    if (!known && name === 'start') name = 'help'; // Telegram's "Start" button sends /start.
    else if (!known && !isPrivate && !m.text.split(/\s/)[0]!.includes('@')) return; // maybe another bot's command
    const def = desk.commands.find((c) => c.name === name);
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
        await this.#out.edit(chatId, messageId, result.update, kind);
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
   * Sends an answer to a person. Unlike alerts (paced by the notify queue), a command reply is one message per
   * user action; if a flood limit still hits, it waits Telegram's retry_after once rather than drop the answer.
   */
  async #answer(chatId: string, reply: Reply, opts: SendOptions = {}) {
    const pace = this.opts.pacer ? () => this.#pace(chatId) : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#out.send(chatId, reply, { ...opts, pace });
      } catch (e) {
        const retryMs = e instanceof TelegramError && e.code === 429 ? (e.parameters?.retry_after ?? 1) * 1000 : undefined;
        if (attempt === 0 && retryMs !== undefined && retryMs <= MAX_REPLY_WAIT_MS && !this.#stop.signal.aborted) {
          await sleep(retryMs, this.#stop.signal);
          continue;
        }
        this.opts.log.warn({ err: this.#describe(e), chatId }, 'telegram reply not delivered');
        return undefined;
      }
    }
  }

  /**
   * Takes this chat's next slot in the shared budget, then passes the send-time gate (which records the send).
   * A person waiting for an answer gets it after MAX_REPLY_WAIT_MS at the latest; a 429 then is waited out once.
   */
  async #pace(chatId: string): Promise<void> {
    const pacer = this.opts.pacer!;
    const now = this.opts.now ?? Date.now;
    const dest = { platform: 'telegram' as const, chatId, chatType: chatId.startsWith('-') ? ('group' as const) : ('private' as const) };
    const deadline = Date.now() + MAX_REPLY_WAIT_MS;
    const left = () => deadline - Date.now();
    const t = now();
    const untilSlot = (await pacer.reserve(dest, t)) - t;
    if (untilSlot > 0) await sleep(Math.min(untilSlot, left()), this.#stop.signal);
    while (left() > 0 && !this.#stop.signal.aborted) {
      const wait = await pacer.admit(dest);
      if (wait <= 0) return;
      await sleep(Math.min(wait, left()), this.#stop.signal);
    }
  }

  // ---- Notifier (alerts and approval results) ----

  async send(chatId: string, reply: Reply): Promise<MessageRef> {
    try {
      const sent = await this.#out.send(chatId, reply, { singleMessage: true });
      return { platform: 'telegram', chatId, messageId: String(sent.messageId) };
    } catch (e) {
      throw toDeliveryError(e, this.opts.token);
    }
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    try {
      await this.#out.edit(ref.chatId, Number(ref.messageId), reply);
    } catch (e) {
      throw toDeliveryError(e, this.opts.token);
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

