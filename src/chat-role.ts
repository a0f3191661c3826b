/**
 * The chat role of a process: the Discord and Telegram transports and the alert delivery that sends through them.
 * With several `npm start` replicas on one Redis only the holder of the leader lease plays it (one Telegram poller,
 * one Discord session, one sender of each alert); the others serve HTTP and run jobs, and take it over when the
 * leader dies. Its notifiers are fenced: once the lease is not surely held (a paused ex-leader), they refuse to send
 * and the alert is retried by the notify queue, which the new leader drains.
 */
import type { Redis } from 'ioredis';
import type { Background, DeliveryHandle } from '../jobs/background.js';
import type { Config } from './config/env.js';
import type { Logger } from './log.js';
import type { LeaderLease } from './queues/leader.js';
import { DeliveryError, type Notifier, type Notifiers } from './services/alerts/notifier.js';
import { Pacer, type PLATFORM_LIMITS } from './services/alerts/pacing.js';
import type { Desk } from './transports/desk.js';
import type { DiscordTransport } from './transports/discord.js';
import type { TelegramTransport } from './transports/telegram.js';
import { telegramMenus } from './transports/telegram-menu.js';
import { telegramAlertChat } from './config/access.js';

export interface ChatRoleOptions {
  config: Config;
  log: Logger;
  desk: Desk;
  redis: Redis;
  prefix: string;
  notifiers: Notifiers;
  now: () => number;
  limits?: typeof PLATFORM_LIMITS;
  /** Present with several replicas: sends are refused while it is not held. */
  lease?: LeaderLease;
}

/** Telegram keeps an unconfirmed update for 24 h; remembering ids as long covers every redelivery. */
const UPDATE_SEEN_TTL_S = 86_400;

/** How long a refused (fenced) send waits before the notify queue tries it again, on the new leader. */
const FENCED_RETRY_MS = 1000;

export class ChatRole {
  discord?: DiscordTransport;
  telegram?: TelegramTransport;
  #background?: Background;
  #delivery?: DeliveryHandle;
  #active = false;
  #lease?: LeaderLease;

  constructor(private readonly o: ChatRoleOptions) {
    this.#lease = o.lease;
  }

  /** Fence the notifiers with this lease (set before start()). */
  fenceWith(lease: LeaderLease): void {
    this.#lease = lease;
  }

  get active(): boolean {
    return this.#active;
  }

  transports(): string[] {
    return [this.discord ? 'discord' : '', this.telegram ? 'telegram' : ''].filter(Boolean);
  }

  /** Jobs are up: deliver alerts from now on whenever this process plays the role. */
  attachBackground(bg: Background): void {
    this.#background = bg;
    if (this.#active) this.#startDelivery();
  }

  async start(): Promise<void> {
    if (this.#active) return;
    this.#active = true;
    const { config, log, desk } = this.o;
    try {
      if (config.DISCORD_TOKEN) {
        // discord.js is loaded only when Discord is configured (it is ~35 MB of the idle footprint).
        const { DiscordTransport } = await import('./transports/discord.js');
        this.discord = new DiscordTransport({
          desk,
          token: config.DISCORD_TOKEN.reveal(),
          applicationId: config.DISCORD_APPLICATION_ID!,
          guildId: config.DISCORD_GUILD_ID,
          apiUrl: config.DISCORD_API_URL,
          log,
        });
        await this.discord.start();
        this.o.notifiers.register(this.#fenced(this.discord));
      }
      if (config.TELEGRAM_BOT_TOKEN) {
        // Command replies take their slots from the same Redis budget as alert deliveries, so the two never add up
        // to more than Telegram's per-chat limits. telegraf is loaded only when Telegram is configured.
        const { TelegramTransport } = await import('./transports/telegram.js');
        const alertChat = telegramAlertChat(config);
        this.telegram = new TelegramTransport({
          desk,
          token: config.TELEGRAM_BOT_TOKEN.reveal(),
          apiRoot: config.TELEGRAM_API_ROOT,
          log,
          // The alert chat's menu goes to it as it is now (a group upgraded to a supergroup has a new id).
          menus: telegramMenus(desk.commands, config, alertChat && ((await desk.currentChat?.('telegram', alertChat)) ?? alertChat)),
          pacer: new Pacer(this.o.redis, this.o.prefix, this.o.limits),
          now: this.o.now,
          firstSeen: async (id) => (await this.o.redis.set(`${this.o.prefix}:telegram:update:${id}`, '1', 'EX', UPDATE_SEEN_TTL_S, 'NX')) === 'OK',
        });
        await this.telegram.start();
        this.o.notifiers.register(this.#fenced(this.telegram));
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
    if (this.#background) this.#startDelivery();
  }

  /** Intake first (no new commands), then delivery, then the clients. Safe to call twice. */
  async stop(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    const delivery = this.#delivery;
    this.#delivery = undefined;
    for (const t of [this.discord, this.telegram]) if (t) this.o.notifiers.unregister(t.platform);
    await delivery?.close().catch((err: unknown) => this.o.log.warn({ err }, 'alert delivery close failed'));
    const [discord, telegram] = [this.discord, this.telegram];
    this.discord = undefined;
    this.telegram = undefined;
    await telegram?.close().catch((err: unknown) => this.o.log.warn({ err }, 'telegram close failed'));
    await discord?.close().catch((err: unknown) => this.o.log.warn({ err }, 'discord close failed'));
  }

  #startDelivery(): void {
    if (this.#delivery || !this.#background) return;
    this.#delivery = this.#background.startDelivery(this.o.notifiers);
  }

  #fenced(n: Notifier): Notifier {
    const lease = this.#lease;
    if (!lease) return n;
    const check = () => {
      if (!lease.holds()) throw new DeliveryError('not the leader replica any more: another one delivers this', FENCED_RETRY_MS);
    };
    return {
      platform: n.platform,
      // The options travel on: a delivery that already holds its place in the chat's budget must not queue again.
      send: async (chatId, reply, opts) => {
        check();
        return n.send(chatId, reply, opts);
      },
      edit: async (ref, reply, opts) => {
        check();
        return n.edit(ref, reply, opts);
      },
    };
  }
}
