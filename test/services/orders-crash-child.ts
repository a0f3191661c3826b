/**
 * A desk process that dies at the worst moment: it runs the real order worker against the shared Redis and paper
 * exchange state, and kills itself with SIGKILL as soon as the exchange has accepted (and persisted) the order,
 * before the result can be recorded. Started by orders.test.ts; configured through the environment.
 */
import { loadConfig } from '../../src/config/env.js';
import type { Exchange } from '../../src/exchange/port.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { createRedis } from '../../src/queues/redis.js';
import { buildServices } from '../../src/services/build.js';
import { startOrderProcessing } from '../../jobs/place-order.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const url = env('PD_REDIS_URL');
const prefix = env('PD_PREFIX');
const t = Number(env('PD_CLOCK'));
const now = () => t;
const redis = createRedis(url, 'client');
const paper = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0, clock: now });
const dying: Exchange = new Proxy(paper, {
  get(target, prop) {
    if (prop === 'placeOrder') {
      return async (req: Parameters<Exchange['placeOrder']>[0]) => {
        await target.placeOrder(req);
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => undefined);
      };
    }
    const v: unknown = Reflect.get(target, prop, target);
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  },
});
const status = async () => ({ exchange: 'paper', exchangeOk: true, redisOk: true, queues: [], schedulers: [], transports: [], startedAt: 0 });
const services = buildServices({ redis, prefix, exchange: dying, now, status, queuePrefix: env('PD_QUEUE_PREFIX') });
const config = loadConfig({ EXCHANGE: 'paper', PERPDESK_APPROVERS: 'discord:2002' });
await startOrderProcessing({ redisUrl: url, services, exchange: dying, config, log: silentLogger, now, sweepMs: 0 });
// Safety net: never outlive the test if the job does not arrive.
setTimeout(() => process.exit(3), 15_000).unref();
