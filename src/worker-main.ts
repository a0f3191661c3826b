/**
 * `npm run worker`: background jobs without chat transports (scale out with `docker compose up --scale worker=3`).
 * Config → Redis (REDIS_URL, shared with `npm start`) → exchange → market jobs and the order worker. Alerts are
 * only enqueued here; the process with the transports delivers them. BullMQ schedulers and the per-job lock keep
 * several workers from double-firing a job. Serves /healthz, /readyz and /metrics on WORKER_HTTP_PORT. With
 * EXCHANGE=paper it needs the shared paper exchange (PAPER_EXCHANGE_URL); without it, it idles: the embedded paper
 * market lives inside `npm start`.
 */
import { loadConfig, type Config } from './config/env.js';
import { ConfigError } from './errors.js';
import { createLogger } from './log.js';
import { createExchange } from './exchange/factory.js';
import { DEFAULT_QUEUE_PREFIX } from './queues/names.js';
import { Lifecycle } from './lifecycle.js';
import { handleShutdown } from './process-signals.js';
import { createRedis, closeRedis } from './queues/redis.js';
import { startHttpServer } from './http/server.js';
import { scrapeSource } from './metrics/scrape.js';
import { startBackground, type Background } from '../jobs/background.js';
import { startOrderProcessing } from '../jobs/place-order.js';
import { AlertService } from './services/alerts/publish.js';
import { DeadMansSwitch } from './services/watchdogs/dead-mans-switch.js';
import type { SchedulerInfo } from './queues/schedulers.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
    if (!config.REDIS_URL) throw new ConfigError('REDIS_URL: required for `npm run worker` (it shares Redis with `npm start`)');
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`perpdesk worker: configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.LOG_LEVEL).child({ role: 'worker' });
  const lifecycle = new Lifecycle(log);
  handleShutdown(log, () => lifecycle.close());

  // Health first, so an orchestrator sees the process even while it idles or waits for Redis.
  const redis = createRedis(config.REDIS_URL!);
  redis.on('error', () => {}); // readiness reports it; ioredis reconnects by itself
  lifecycle.add('redis', () => closeRedis(redis));
  const ready = async () => (await redis.ping().catch(() => '')) === 'PONG';
  let jobs: Background | undefined;
  const metrics = scrapeSource(() => (jobs ? [jobs.market, jobs.services.alerts.queue, jobs.services.orderQueue.queue] : []));
  const http = await startHttpServer({ port: config.WORKER_HTTP_PORT, ready, metrics });
  lifecycle.add('http', () => http.close());
  log.info({ url: http.url }, 'worker http listening');

  // The dead man's switch: this worker beats, and watches the bot, the other workers and the job schedulers.
  const store = { redis, prefix: 'pd' };
  const startSwitch = async (alerts: AlertService, schedulers?: () => Promise<SchedulerInfo[]>) => {
    const dms = new DeadMansSwitch({ store, alerts, log, role: 'worker', schedulers, heartbeatUrl: config.HEARTBEAT_URL });
    await dms.start();
    lifecycle.add('heartbeat', () => dms.stop());
  };

  if (config.EXCHANGE === 'paper' && !config.PAPER_EXCHANGE_URL) {
    // The embedded paper market lives in `npm start`'s memory; a second copy here would drift from it. Idle instead
    // of exiting, so `docker compose up` with the paper defaults does not restart this service in a loop.
    log.warn({}, 'EXCHANGE=paper: the jobs run inside `npm start`; this worker stays idle. For scaled-out workers run `npm run paper-exchange` and set PAPER_EXCHANGE_URL=http://<host>:8090/api/v1 on the bot and the workers');
    const idle = setInterval(() => {}, 3_600_000);
    lifecycle.add('idle', () => clearInterval(idle));
    // Idle, it still watches: a bot that dies is reported by whoever is left.
    const alerts = new AlertService({ store, queuePrefix: DEFAULT_QUEUE_PREFIX, now: Date.now, log });
    lifecycle.add('alerts', () => alerts.close());
    await startSwitch(alerts);
    return;
  }
  try {
    const redisUrl = config.REDIS_URL!;
    const exchange = await createExchange(config, { redisUrl, log });
    lifecycle.add('exchange', () => exchange.close());
    const bg = await startBackground({ redisUrl, config, exchange, log, prefix: 'pd', queuePrefix: DEFAULT_QUEUE_PREFIX });
    jobs = bg;
    lifecycle.add('jobs', () => bg.close());
    const orders = await startOrderProcessing({ redisUrl, services: bg.services, exchange, config, log, now: Date.now });
    lifecycle.add('orders', () => orders.close());
    await startSwitch(bg.services.alerts, () => bg.schedulers());
    log.info({ exchange: exchange.name, schedulers: (await bg.schedulers()).map((s) => s.id) }, 'perpdesk worker ready');
  } catch (e) {
    log.fatal({ err: e }, 'worker start-up failed');
    await lifecycle.close();
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
}

void main();
