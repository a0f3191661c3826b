/**
 * A worker process that takes the market job given by the test, marks in Redis that it runs, and never finishes:
 * the test kills it (SIGKILL) mid-run to see how soon its job lock frees. Configured through the environment.
 */
import { silentLogger } from '../../../src/log.js';
import { createRedis } from '../../../src/queues/redis.js';
import { startMarketWorker } from '../../../src/queues/workers.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const redis = createRedis(env('PD_REDIS_URL'), 'client');
startMarketWorker({
  redisUrl: env('PD_REDIS_URL'),
  prefix: env('PD_QUEUE_PREFIX'),
  lockPrefix: env('PD_PREFIX'),
  log: silentLogger,
  handlers: {
    [env('PD_JOB')]: async () => {
      await redis.set(`${env('PD_PREFIX')}:child-running`, String(process.pid));
      await new Promise(() => undefined);
    },
  },
});
// Safety net: never outlive the test if the kill does not come.
setTimeout(() => process.exit(3), 60_000).unref();
