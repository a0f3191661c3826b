/**
 * A desk process for flatten-crash.test.ts, over the shared Redis and the paper exchange served over HTTP.
 * `PD_MODE=run`: executes one approved flatten and is killed by the test (SIGKILL) at the point it chose.
 * `PD_MODE=resume`: a new process after the crash: the real order worker (startOrderProcessing), whose start-up and
 * periodic sweep continue the unfinished flatten; exits 0 once the flatten is final.
 */
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { silentLogger } from '../../src/log.js';
import { closeRedis, createRedis } from '../../src/queues/redis.js';
import { buildServices } from '../../src/services/build.js';
import { FlattenExecutor } from '../../src/services/flatten/executor.js';
import { FLATTEN_FINAL } from '../../src/services/flatten/types.js';
import { loadConfig } from '../../src/config/env.js';
import { startOrderProcessing } from '../../jobs/place-order.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const url = env('PD_REDIS_URL');
const prefix = env('PD_PREFIX');
const id = env('PD_FLATTEN');
const ttl = Number(env('PD_RUNNER_TTL_MS'));
const redis = createRedis(url, 'client');
const exchange = new PurpleFleaClient({ baseUrl: env('PD_EXCHANGE_URL'), apiKey: 'child-key', retries: 0 });
const now = Date.now;
const status = async () => ({ exchange: 'paper', exchangeOk: true, redisOk: true, queues: [], schedulers: [], transports: [], startedAt: 0 });
const services = buildServices({ redis, prefix, exchange, now, status });
// Safety net: never outlive the test.
setTimeout(() => process.exit(3), 30_000).unref();

if (env('PD_MODE') === 'run') {
  const executor = new FlattenExecutor({ ...services, exchange, log: silentLogger, now, runnerTtlMs: ttl });
  await executor.run(id);
  process.exit(0);
}

const config = loadConfig({ EXCHANGE: 'paper', PERPDESK_APPROVERS: 'discord:2002' });
const worker = await startOrderProcessing({ redisUrl: url, services, exchange, config, log: silentLogger, now, sweepMs: 200, flattenRunnerTtlMs: ttl });
for (;;) {
  const rec = await services.flattens.get(id);
  if (rec && FLATTEN_FINAL.has(rec.status)) break;
  await new Promise((r) => setTimeout(r, 50));
}
await worker.close();
await services.orderQueue.close();
await services.previewEdits.close();
await closeRedis(redis);
process.exit(0);
