import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { commands } from '../commands/registry.js';
import type { CommandContext } from '../commands/context.js';
import type { Config } from './config/env.js';
import type { Exchange } from './exchange/port.js';
import type { Logger } from './log.js';
import { Lifecycle } from './lifecycle.js';
import { ChatRole } from './chat-role.js';
import { LeaderLease } from './queues/leader.js';
import { createRedis, closeRedis } from './queues/redis.js';
import { buildServices } from './services/build.js';
import { alertDestinations } from './services/alerts/announce.js';
import { DEFAULT_QUEUE_PREFIX, queuePrefix } from './queues/names.js';
import { queueCounts } from './queues/counts.js';
import { startOrderProcessing, type OrderProcessing } from '../jobs/place-order.js';
import { startBackground, type Background, type BackgroundOptions } from '../jobs/background.js';
import type { StatusInfo } from './services/services.js';
import { deskFor, type Desk } from './transports/desk.js';
import { ConsoleTransport, type ConsoleOptions } from './transports/console.js';
import type { TelegramTransport } from './transports/telegram.js';
import type { DiscordTransport } from './transports/discord.js';
import { startHttpServer, type HttpServerHandle } from './http/server.js';
import { scrapeSource } from './metrics/scrape.js';
import { createQueueDashboard, DASHBOARD_PATH, type QueueDashboard } from './http/queue-dashboard.js';
import { pruneRules, pruneSubscriptions } from './services/access/prune.js';
import { openConfiguredVenues } from './venues/open.js';
import type { VenueSource } from './venues/types.js';
import { signalEndpoint, type SignalLimits } from './http/signals.js';
import { SignalIntake } from './services/signals/intake.js';
import { DeadMansSwitch } from './services/watchdogs/dead-mans-switch.js';
import { observedExchange } from './services/ledger/observed-exchange.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  exchange: Exchange;
  /** Key prefix of every Redis key (tests pass a unique one). */
  prefix?: string;
  now?: () => number;
  /** Console transport streams; omitted = no console (e.g. when a chat token is set). */
  console?: Pick<ConsoleOptions, 'input' | 'output' | 'interactive' | 'onQuit' | 'onInputEnd'>;
  /** Called once everything is up and HTTP listens at `url`, before the console shows its prompt. */
  onReady?: (url: string) => void;
  /** HTTP port override (0 = any free port); defaults to config.HTTP_PORT. */
  httpPort?: number;
  /** Background jobs and alert delivery: tuning for tests, or false for none. */
  background?: Partial<Pick<BackgroundOptions, 'tuning' | 'every' | 'schedule' | 'limits'>> | false;
  /** Leader lease TTL with a chat token (default 10 s; tests shorten it). */
  leaderTtlMs?: number;
  /** Real venues already opened; default: opened from MARKET_VENUES (ccxt is loaded only then). */
  venues?: VenueSource;
  /** POST /signals rate limits (default DEFAULT_SIGNAL_LIMITS; tests lower them). */
  signalLimits?: SignalLimits;
  /** The dead man's switch: its beat interval (default HEARTBEAT_EVERY_MS; tests shorten it), or false for none. */
  heartbeat?: { everyMs?: number } | false;
}

export interface App {
  desk: Desk;
  ctx: CommandContext;
  redis: Redis;
  http: HttpServerHandle;
  console?: ConsoleTransport;
  discord?: DiscordTransport;
  telegram?: TelegramTransport;
  /** With a chat token: the leader lease deciding whether this replica runs the chat transports. */
  lease?: LeaderLease;
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
    // Closed after the jobs and commands that read it (the lifecycle closes in reverse).
    const venues = o.venues ?? (await openConfiguredVenues(o.config, o.log));
    if (venues) lifecycle.add('venues', () => venues.close());

    const redisOk = async () => (await redis.ping().catch(() => '')) === 'PONG';
    let bg: Background | undefined;
    let switchboard: DeadMansSwitch | undefined;
    const status = async (): Promise<StatusInfo> => ({
      exchange: o.exchange.name,
      exchangeOk: await o.exchange.instruments().then(() => true, () => false),
      redisOk: await redisOk(),
      queues: [
        ...((await bg?.queues().catch(() => [])) ?? []),
        ...(await queueCounts(services.orderQueue.queue).then((c) => [c], () => [])),
      ],
      schedulers: (await bg?.schedulers().catch(() => [])) ?? [],
      transports: [...transports, ...chat.transports()],
      startedAt,
      heartbeats: await switchboard?.report().catch(() => undefined),
    });
    const services = buildServices({
      redis, prefix: o.prefix ?? 'pd', exchange: o.exchange, now, status, log: o.log,
      queuePrefix: o.prefix ? queuePrefix(o.prefix) : DEFAULT_QUEUE_PREFIX,
      alertDestinations: alertDestinations(o.config),
      alertPipeline: true,
      cascadeCooldownMs: o.background ? o.background.tuning?.cascadeCooldownMs : undefined,
      venues,
    });
    // Every order answer any command or job sees is recorded in the desk's ledger on its way back.
    const exchange = observedExchange(o.exchange, services.ledger, o.log);
    const ctx: CommandContext = { ...services, exchange, config: o.config, log: o.log, now, commands };
    const desk: Desk = deskFor(ctx);
    // The order worker stops after the transports (intake first) but starts once they can show its results.
    let orders: OrderProcessing | undefined;
    lifecycle.add('orders', async () => {
      await orders?.close();
      await services.orderQueue.close();
      await services.previewEdits.close();
    });

    // Jobs and alert delivery stop after the transports, like the order worker.
    lifecycle.add('background', async () => {
      await bg?.close();
      await services.alerts.close();
    });

    const metrics = scrapeSource(() => [services.orderQueue.queue, services.alerts.queue, ...(bg ? [bg.market] : [])]);
    let dashboard: QueueDashboard | undefined;
    if (o.config.ADMIN_USER && o.config.ADMIN_PASSWORD) {
      dashboard = await createQueueDashboard({
        redis, queuePrefix: o.prefix ? queuePrefix(o.prefix) : DEFAULT_QUEUE_PREFIX,
        user: o.config.ADMIN_USER, password: o.config.ADMIN_PASSWORD.reveal(), readOnly: !o.config.ADMIN_QUEUES_WRITE,
      });
      lifecycle.add('dashboard', () => dashboard!.close());
    }
    // POST /signals: mounted always, so without SIGNAL_SECRET it answers that it is disabled.
    const signals = signalEndpoint({
      secret: o.config.SIGNAL_SECRET, redis, prefix: o.prefix ?? 'pd', log: o.log, now, audit: services.audit, limits: o.signalLimits,
      intake: new SignalIntake({
        preview: { exchange: o.exchange, market: services.market, samples: services.samples, killSwitch: services.killSwitch, cascade: services.cascade, config: o.config, now },
        approvals: services.approvals, alerts: services.alerts, audit: services.audit, config: o.config, log: o.log, now,
      }),
    });
    const http = await startHttpServer({
      port: o.httpPort ?? o.config.HTTP_PORT, ready: redisOk, metrics,
      mounts: [...(dashboard ? [{ prefix: DASHBOARD_PATH, handle: dashboard.handle }] : []), signals],
    });
    lifecycle.add('http', () => http.close());

    let consoleT: ConsoleTransport | undefined;
    if (o.console) {
      // Its prompt comes last (see below); alerts can already be printed.
      consoleT = new ConsoleTransport({ desk, imageDir: join(o.config.DATA_DIR, 'charts'), ...o.console });
      services.notifiers.register(consoleT);
      transports.push('console');
      lifecycle.add('console', () => consoleT!.close());
    }
    // Chat transports: with a chat token, only the holder of the leader lease runs them (see chat-role.ts).
    const chat = new ChatRole({
      config: o.config, log: o.log, desk, redis, prefix: o.prefix ?? 'pd', notifiers: services.notifiers, now,
      limits: o.background ? o.background.limits : undefined,
    });
    const hasChat = Boolean(o.config.DISCORD_TOKEN || o.config.TELEGRAM_BOT_TOKEN);
    let lease: LeaderLease | undefined;
    if (hasChat) {
      lease = new LeaderLease({
        redis, key: `${o.prefix ?? 'pd'}:leader`, id: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
        ttlMs: o.leaderTtlMs ?? o.config.LEADER_TTL_SECONDS * 1000, log: o.log,
      });
      chat.fenceWith(lease);
      // Role changes run one at a time, in the order the lease reports them.
      let roleChange: Promise<void> = Promise.resolve();
      // A transport that cannot start while the app starts (a rejected token) fails start-up, as without replicas.
      let startingUp = true;
      let startupError: unknown;
      const change = (what: 'start' | 'stop') => {
        roleChange = roleChange.then(() => (what === 'start' ? chat.start() : chat.stop())).catch((err: unknown) => {
          if (startingUp) startupError ??= err;
          else o.log.error({ err }, 'chat role change failed');
          if (what === 'start') void lease!.close(); // let another replica try
        });
        return roleChange;
      };
      lease.on('acquired', () => void change('start'));
      lease.on('lost', () => void change('stop'));
      lifecycle.add('chat', async () => {
        await roleChange;
        await chat.stop();
        await lease!.close();
      });
      await lease.start();
      await roleChange;
      startingUp = false;
      if (startupError !== undefined) throw startupError;
    }
    // Alerts are team data: chats that subscribed but may not read under the current lists stop receiving them.
    await pruneSubscriptions({
      config: o.config, subscriptions: services.subscriptions, audit: services.audit, log: o.log, now, migrations: services.chatMigrations,
      discordGuildOf: chat.discord ? (channelId) => chat.discord!.guildOf(channelId) : undefined,
    }).catch((err: unknown) => o.log.warn({ err }, 'could not check subscriptions against the access lists'));
    await pruneRules({
      config: o.config, rules: services.rules, audit: services.audit, log: o.log, now, migrations: services.chatMigrations,
      discordGuildOf: chat.discord ? (channelId) => chat.discord!.guildOf(channelId) : undefined,
    }).catch((err: unknown) => o.log.warn({ err }, 'could not check alert rules against the access lists'));
    orders = await startOrderProcessing({ redisUrl: o.redisUrl, services, exchange, config: o.config, log: o.log, now });
    if (o.background !== false) {
      bg = await startBackground({
        redisUrl: o.redisUrl, config: o.config, exchange, log: o.log, now, prefix: o.prefix ?? 'pd',
        queuePrefix: o.prefix ? queuePrefix(o.prefix) : DEFAULT_QUEUE_PREFIX,
        // Without a chat token this process delivers to its console; with one, the chat role delivers while it leads.
        notifiers: hasChat ? undefined : services.notifiers, venues: venues ?? null, ...o.background,
      });
      if (hasChat) chat.attachBackground(bg);
    }
    if (o.heartbeat !== false) {
      const jobs = bg;
      const dms = new DeadMansSwitch({
        store: { redis, prefix: o.prefix ?? 'pd' }, alerts: services.alerts, log: o.log, now, role: 'bot', everyMs: o.heartbeat?.everyMs,
        schedulers: jobs ? () => jobs.schedulers() : undefined, heartbeatUrl: o.config.HEARTBEAT_URL,
      });
      await dms.start();
      switchboard = dms;
      // Last in, first out: a clean stop removes this process's beat before anything else closes.
      lifecycle.add('heartbeat', () => dms.stop());
    }
    o.onReady?.(http.url);
    consoleT?.start();
    return {
      desk, ctx, redis, http, console: consoleT, lifecycle, lease,
      get discord() { return chat.discord; },
      get telegram() { return chat.telegram; },
      close: () => lifecycle.close(),
    };
  } catch (e) {
    await lifecycle.close();
    throw e;
  }
}
