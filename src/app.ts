import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { commands, buttons } from '../commands/registry.js';
import { accessRefusal } from '../commands/access.js';
import { identify } from '../commands/identity.js';
import { dispatch, dispatchButton } from '../commands/dispatch.js';
import type { CommandContext } from '../commands/context.js';
import type { Config } from './config/env.js';
import type { Exchange } from './exchange/port.js';
import type { Logger } from './log.js';
import { Lifecycle } from './lifecycle.js';
import { createRedis, closeRedis } from './queues/redis.js';
import { buildServices } from './services/build.js';
import { alertDestinations } from './services/alerts/announce.js';
import { DEFAULT_QUEUE_PREFIX, queuePrefix } from './queues/names.js';
import { queueCounts } from './queues/counts.js';
import { startOrderProcessing, type OrderProcessing } from '../jobs/place-order.js';
import { startBackground, type Background, type BackgroundOptions } from '../jobs/background.js';
import type { StatusInfo } from './services/services.js';
import type { Desk } from './transports/desk.js';
import { ConsoleTransport } from './transports/console.js';
import type { TelegramTransport } from './transports/telegram.js';
import { Pacer } from './services/alerts/pacing.js';
import type { DiscordTransport } from './transports/discord.js';
import { createMetricsRegistry, startHttpServer, type HttpServerHandle } from './http/server.js';
import { createQueueDashboard, DASHBOARD_PATH, type QueueDashboard } from './http/queue-dashboard.js';
import { pruneSubscriptions } from './services/access/prune.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  exchange: Exchange;
  /** Key prefix of every Redis key (tests pass a unique one). */
  prefix?: string;
  now?: () => number;
  /** Console transport streams; omitted = no console (e.g. when a chat token is set). */
  console?: { input: Readable; output: Writable; interactive: boolean };
  /** HTTP port override (0 = any free port); defaults to config.HTTP_PORT. */
  httpPort?: number;
  /** Background jobs and alert delivery: tuning for tests, or false for none. */
  background?: Partial<Pick<BackgroundOptions, 'tuning' | 'every' | 'schedule' | 'limits'>> | false;
}

export interface App {
  desk: Desk;
  ctx: CommandContext;
  redis: Redis;
  http: HttpServerHandle;
  console?: ConsoleTransport;
  discord?: DiscordTransport;
  telegram?: TelegramTransport;
  lifecycle: Lifecycle;
  close(): Promise<void>;
}

/**
 * Composition root shared by `npm start` and the end-to-end tests: Redis connection → services → desk →
 * transports → HTTP. Everything built is registered with the lifecycle and closed in reverse.
 */
export async function startApp(o: AppOptions): Promise<App> {
  const lifecycle = new Lifecycle(o.log);
  const now = o.now ?? Date.now;
  const startedAt = now();
  const transports: string[] = [];
  try {
    const redis = createRedis(o.redisUrl, 'client');
    redis.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'redis connection error'));
    lifecycle.add('redis', () => closeRedis(redis));
    lifecycle.add('exchange', () => o.exchange.close());

    const redisOk = async () => (await redis.ping().catch(() => '')) === 'PONG';
    let bg: Background | undefined;
    const status = async (): Promise<StatusInfo> => ({
      exchange: o.exchange.name,
      exchangeOk: await o.exchange.instruments().then(() => true, () => false),
      redisOk: await redisOk(),
      queues: [
        ...((await bg?.queues().catch(() => [])) ?? []),
        ...(await queueCounts(services.orderQueue.queue).then((c) => [c], () => [])),
      ],
      schedulers: (await bg?.schedulers().catch(() => [])) ?? [],
      transports,
      startedAt,
    });
    const services = buildServices({
      redis, prefix: o.prefix ?? 'pd', exchange: o.exchange, now, status,
      queuePrefix: o.prefix ? queuePrefix(o.prefix) : DEFAULT_QUEUE_PREFIX,
      alertDestinations: alertDestinations(o.config),
      alertPipeline: true,
      cascadeCooldownMs: o.background ? o.background.tuning?.cascadeCooldownMs : undefined,
    });
    const ctx: CommandContext = { ...services, exchange: o.exchange, config: o.config, log: o.log, now, commands };
    const desk: Desk = {
      commands,
      command: (name, args, inv) => dispatch(ctx, commands, name, args, inv),
      button: (id, inv) => dispatchButton(ctx, buttons, id, inv),
      suggestSymbols: (partial) => services.market.suggest(partial).catch(() => []),
      messageSent: (track, ref) => services.messageRefs.add(track, ref),
      accessRefusal: (inv, what) => accessRefusal(ctx, identify(ctx, inv), what),
    };
    // The order worker stops after the transports (intake first) but starts once they can show its results.
    let orders: OrderProcessing | undefined;
    lifecycle.add('orders', async () => {
      await orders?.close();
      await services.orderQueue.close();
    });

    // Jobs and alert delivery stop after the transports, like the order worker.
    lifecycle.add('background', async () => {
      await bg?.close();
      await services.alerts.close();
    });

    const metrics = createMetricsRegistry();
    let dashboard: QueueDashboard | undefined;
    if (o.config.ADMIN_USER && o.config.ADMIN_PASSWORD) {
      dashboard = await createQueueDashboard({
        redis, queuePrefix: o.prefix ? queuePrefix(o.prefix) : DEFAULT_QUEUE_PREFIX,
        user: o.config.ADMIN_USER, password: o.config.ADMIN_PASSWORD.reveal(), readOnly: !o.config.ADMIN_QUEUES_WRITE,
      });
      lifecycle.add('dashboard', () => dashboard!.close());
    }
    const http = await startHttpServer({
      port: o.httpPort ?? o.config.HTTP_PORT, ready: redisOk, metrics,
      mounts: dashboard ? [{ prefix: DASHBOARD_PATH, handle: dashboard.handle }] : [],
    });
    lifecycle.add('http', () => http.close());

    let consoleT: ConsoleTransport | undefined;
    if (o.console) {
      consoleT = new ConsoleTransport({ desk, imageDir: join(o.config.DATA_DIR, 'charts'), ...o.console });
      consoleT.start();
      services.notifiers.register(consoleT);
      transports.push('console');
      lifecycle.add('console', () => consoleT!.close());
    }
    let discord: DiscordTransport | undefined;
    if (o.config.DISCORD_TOKEN) {
      // discord.js is loaded only when Discord is configured (it is ~35 MB of the idle footprint).
      const { DiscordTransport } = await import('./transports/discord.js');
      discord = new DiscordTransport({
        desk,
        token: o.config.DISCORD_TOKEN.reveal(),
        applicationId: o.config.DISCORD_APPLICATION_ID!,
        guildId: o.config.DISCORD_GUILD_ID,
        apiUrl: o.config.DISCORD_API_URL,
        log: o.log,
      });
      lifecycle.add('discord', () => discord!.close());
      await discord.start();
      services.notifiers.register(discord);
      transports.push('discord');
    }
    let telegram: TelegramTransport | undefined;
    if (o.config.TELEGRAM_BOT_TOKEN) {
      // Command replies take their slots from the same Redis budget as alert deliveries, so the two never add up
      // to more than Telegram's per-chat limits.
      // telegraf is loaded only when Telegram is configured, like discord.js.
      const { TelegramTransport } = await import('./transports/telegram.js');
      telegram = new TelegramTransport({
        desk,
        token: o.config.TELEGRAM_BOT_TOKEN.reveal(),
        apiRoot: o.config.TELEGRAM_API_ROOT,
        log: o.log,
        pacer: new Pacer(redis, o.prefix ?? 'pd', o.background ? o.background.limits : undefined),
        now,
      });
      lifecycle.add('telegram', () => telegram!.close());
      await telegram.start();
      services.notifiers.register(telegram);
      transports.push('telegram');
    }
    // Alerts are team data: chats that subscribed but may not read under the current lists stop receiving them.
    await pruneSubscriptions({
      config: o.config, subscriptions: services.subscriptions, audit: services.audit, log: o.log, now,
      discordGuildOf: discord ? (channelId) => discord!.guildOf(channelId) : undefined,
    }).catch((err: unknown) => o.log.warn({ err }, 'could not check subscriptions against the access lists'));
    orders = await startOrderProcessing({ redisUrl: o.redisUrl, services, exchange: o.exchange, config: o.config, log: o.log, now });
    if (o.background !== false) {
      bg = await startBackground({
        redisUrl: o.redisUrl, config: o.config, exchange: o.exchange, log: o.log, now, prefix: o.prefix ?? 'pd',
        queuePrefix: o.prefix ? queuePrefix(o.prefix) : DEFAULT_QUEUE_PREFIX, notifiers: services.notifiers, ...o.background,
      });
    }
    return { desk, ctx, redis, http, console: consoleT, discord, telegram, lifecycle, close: () => lifecycle.close() };
  } catch (e) {
    await lifecycle.close();
    throw e;
  }
}
