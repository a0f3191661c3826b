/**
 * Background jobs of one process: the market jobs (cascade detector, risk monitor, harvester, funding reminder,
 * basis sampler) on schedulers, and — only where chat transports run — the notify worker that delivers alerts.
 * `npm start` runs both; `npm run worker` runs the market jobs alone and leaves delivery to the process with
 * transports. Jobs use their own Redis connection that waits out a Redis restart instead of failing.
 */
import { queueCounts } from '../src/queues/counts.js';
import { Queue } from 'bullmq';
import type { Config } from '../src/config/env.js';
import type { Exchange } from '../src/exchange/port.js';
import type { Logger } from '../src/log.js';
import { QUEUES } from '../src/queues/names.js';
import { closeRedis, createRedis } from '../src/queues/redis.js';
import { JOB_NAMES, listSchedulers, schedulePlan, upsertSchedulers, type JobName, type SchedulerInfo } from '../src/queues/schedulers.js';
import { startMarketWorker, startNotifyWorker, type JobHandler } from '../src/queues/workers.js';
import { AlertDelivery, teamDestinations, topicRoutes } from '../src/services/alerts/delivery.js';
import { Pacer, PLATFORM_LIMITS } from '../src/services/alerts/pacing.js';
import { notifyBackoff } from '../src/services/alerts/publish.js';
import { ApprovalNotices } from '../src/services/approvals/notices.js';
import { startPreviewEditWorker } from '../src/services/approvals/preview-edits.js';
import { buildServices } from '../src/services/build.js';
import { observedExchange } from '../src/services/ledger/observed-exchange.js';
import type { Notifiers } from '../src/services/alerts/notifier.js';
import type { Services, StatusInfo } from '../src/services/services.js';
import { runBasisSampler } from './basis-sampler.js';
import { runCascadeDetector } from './cascade-detector.js';
import { runFundingHarvester } from './funding-harvester.js';
import { runFundingReminder } from './funding-reminder.js';
import { DEFAULT_TUNING, type JobContext, type JobTuning } from './job-context.js';
import { runRiskMonitor } from './risk-monitor.js';
import { runAlertRules } from './alert-rules.js';
import { runVenueSampler } from './venue-sampler.js';
import { openConfiguredVenues } from '../src/venues/open.js';
import type { VenueSource } from '../src/venues/types.js';
import { runLedger } from './ledger.js';

export interface BackgroundOptions {
  redisUrl: string;
  config: Config;
  exchange: Exchange;
  log: Logger;
  now?: () => number;
  /** Redis key prefix (same as the app's). */
  prefix: string;
  /** BullMQ prefix, hash-tagged. */
  queuePrefix: string;
  /** The transports' notifiers: given → this process also delivers alerts. */
  notifiers?: Notifiers;
  tuning?: Partial<JobTuning>;
  /** Scheduler periods by job name (tests use short ones). */
  every?: Partial<Record<JobName, number>>;
  /** Pacing limits (the bench scales them with its stand-in). */
  limits?: typeof PLATFORM_LIMITS;
  /** Off: no schedulers are created (tests drive the jobs). */
  schedule?: boolean;
  /**
   * Real venues for the venue sampler: the caller's (shared with its commands), null for none, or undefined to open
   * them here from MARKET_VENUES (a jobs-only worker).
   */
  venues?: VenueSource | null;
}

export interface DeliveryHandle {
  delivery: AlertDelivery;
  close(): Promise<void>;
}

export interface Background {
  ctx: JobContext;
  services: Services;
  market: Queue;
  delivery?: AlertDelivery;
  /**
   * Starts delivering alerts through these notifiers (the notify worker). For a process that gains the chat
   * transports later (the leader of several replicas); close() of the handle stops it, close() of Background too.
   */
  startDelivery(notifiers: Notifiers): DeliveryHandle;
  queues(): Promise<StatusInfo['queues']>;
  schedulers(): Promise<SchedulerInfo[]>;
  close(): Promise<void>;
}

export function jobHandlers(ctx: JobContext): Record<JobName, JobHandler> {
  return {
    [JOB_NAMES.cascade]: async () => summarize(await runCascadeDetector(ctx)),
    [JOB_NAMES.risk]: async () => runRiskMonitor(ctx),
    [JOB_NAMES.harvester]: async () => runFundingHarvester(ctx),
    [JOB_NAMES.reminder]: async () => runFundingReminder(ctx),
    [JOB_NAMES.basis]: async () => summarize(await runBasisSampler(ctx)),
    [JOB_NAMES.rules]: async () => runAlertRules(ctx),
    [JOB_NAMES.venues]: async () => summarize(await runVenueSampler(ctx)),
    [JOB_NAMES.ledger]: async () => runLedger(ctx),
  };
}

function summarize<T extends { symbol: string }>(rows: T[]): Record<string, unknown> {
  return Object.fromEntries(rows.map((r) => [r.symbol, r]));
}

export async function startBackground(o: BackgroundOptions): Promise<Background> {
  const now = o.now ?? Date.now;
  const redis = createRedis(o.redisUrl, 'worker');
  redis.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'jobs redis error'));
  const tuning: JobTuning = { ...DEFAULT_TUNING, ...o.tuning };
  const ownVenues = o.venues === undefined ? await openConfiguredVenues(o.config, o.log, now) : undefined;
  const venues = o.venues ?? ownVenues;
  const services = buildServices({
    venues: venues ?? undefined,
    redis,
    prefix: o.prefix,
    exchange: o.exchange,
    now,
    queuePrefix: o.queuePrefix,
    alertPipeline: true,
    cascadeCooldownMs: tuning.cascadeCooldownMs,
    log: o.log,
    status: async () => ({ exchange: o.exchange.name, exchangeOk: true, redisOk: true, queues: [], schedulers: [], transports: [], startedAt: now() }),
  });
  const store = { redis, prefix: o.prefix };
  const exchange = observedExchange(o.exchange, services.ledger, o.log);
  const ctx: JobContext = {
    exchange,
    config: o.config,
    log: o.log,
    now,
    store,
    market: services.market,
    samples: services.samples,
    killSwitch: services.killSwitch,
    cascade: services.cascade,
    audit: services.audit,
    alerts: services.alerts,
    harvester: services.harvester,
    rules: services.rules,
    venues: services.venues,
    ledger: services.ledger,
    tuning,
  };
  const market = new Queue(QUEUES.market, { connection: redis, prefix: o.queuePrefix });
  market.on('error', (err) => o.log.debug({ err: { message: err.message } }, 'market queue connection error'));
  const handles: { close(): Promise<void> }[] = [];
  let delivery: AlertDelivery | undefined;
  const close = async () => {
    for (const h of handles.splice(0).reverse()) await h.close().catch((err: unknown) => o.log.warn({ err }, 'worker close failed'));
    await market.close().catch(() => undefined);
    await services.alerts.close();
    await services.orderQueue.close().catch(() => undefined);
    await services.previewEdits.close();
    await ownVenues?.close();
    await closeRedis(redis);
  };
  const startDelivery = (notifiers: Notifiers): DeliveryHandle => {
    const d = new AlertDelivery({
      store,
      alerts: services.alerts,
      notifiers,
      subscriptions: services.subscriptions,
      messageRefs: services.messageRefs,
      pacer: new Pacer(redis, o.prefix, o.limits),
      teamDestinations: teamDestinations(o.config),
      topics: topicRoutes(o.config),
      log: o.log,
      now,
    });
    const worker = startNotifyWorker({ redisUrl: o.redisUrl, prefix: o.queuePrefix, process: (job, token) => d.process(job, token), backoff: notifyBackoff, log: o.log });
    // Preview edits queued by processes without transports (workers, follower replicas) are made here.
    const notices = new ApprovalNotices({ messageRefs: services.messageRefs, notifiers, announcer: services.announcer, log: o.log });
    const previews = startPreviewEditWorker({ redisUrl: o.redisUrl, prefix: o.queuePrefix, approvals: services.approvals, edit: (rec) => notices.updated(rec), log: o.log });
    return {
      delivery: d,
      close: async () => {
        await previews.close();
        await worker.close();
      },
    };
  };
  try {
    if (o.schedule !== false) await upsertSchedulers(market, schedulePlan({ ...o.config, venues: Boolean(venues) }, o.every));
    handles.push(startMarketWorker({ redisUrl: o.redisUrl, prefix: o.queuePrefix, handlers: jobHandlers(ctx), log: o.log, lockPrefix: o.prefix }));
    if (o.schedule !== false) {
      // A process that starts cannot know how long it was away: warn now about positions near liquidation, without
      // waiting for the scheduler (start-up is not held up by a slow venue; close() waits for it).
      const startup = runRiskMonitor(ctx, { startup: true }).then(
        () => undefined,
        (err: unknown) => o.log.warn({ err }, 'start-up risk check failed; the scheduled runs carry on'),
      );
      handles.push({ close: () => startup });
    }
    if (o.notifiers) {
      const d = startDelivery(o.notifiers);
      delivery = d.delivery;
      handles.push(d);
    }
  } catch (e) {
    await close();
    throw e;
  }
  const counted = [market, services.alerts.queue];
  return {
    ctx,
    services,
    market,
    delivery,
    startDelivery,
    queues: async () => Promise.all(counted.map(queueCounts)),
    schedulers: () => listSchedulers(market),
    close,
  };
}
