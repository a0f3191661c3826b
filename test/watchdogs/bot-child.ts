/**
 * The bot's process for the dead man's switch test: the whole app (startApp, as `npm start` builds it) on the test's
 * Redis and key prefix, beating every PD_BEAT_MS. No chat token and no background jobs, so it neither leads nor
 * takes alert deliveries from the replica that watches it. Stops cleanly on SIGTERM; the test SIGKILLs it to see it die.
 */
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { handleShutdown } from '../../src/process-signals.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const redisUrl = env('PD_REDIS_URL');
const prefix = env('PD_PREFIX');
const exchange = await PaperExchange.open({ redis: redisUrl, keyPrefix: `${prefix}-venue`, volatilityScale: 0 });
const app = await startApp({
  config: loadConfig({ EXCHANGE: 'paper', HTTP_PORT: '0', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' }),
  log: silentLogger,
  redisUrl,
  exchange,
  prefix,
  httpPort: 0,
  background: false,
  heartbeat: { everyMs: Number(env('PD_BEAT_MS')) },
});
handleShutdown(silentLogger, () => app.close());
process.stdout.write(`ready ${process.pid}\n`);
// Never outlive the test.
setTimeout(() => process.exit(3), 120_000).unref();
