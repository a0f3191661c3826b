/**
 * `npm run paper-exchange`: the paper exchange served over the REST API at `/api/v1` on PAPER_EXCHANGE_PORT
 * (default 8090). State lives in Redis (REDIS_URL, or a private redis-server under .data/paper-redis).
 * PAPER_REPLAY=1 replays the real BTC hourly series in data/ (one bar per PAPER_REPLAY_MS_PER_BAR, default 1 h).
 */
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { startRedisServer, type RedisServerHandle } from '../queues/redis-server.js';
import { PaperExchange } from './paper/paper-exchange.js';
import { DEFAULT_REPLAY_FILE, replayFromFile } from './paper/replay.js';
import { startPaperServer } from './paper-server.js';

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

async function main(): Promise<void> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  let redisServer: RedisServerHandle | undefined;
  try {
    const port = intEnv('PAPER_EXCHANGE_PORT', 8090, 1, 65_535);
    const tickMs = intEnv('PAPER_TICK_MS', 1000, 10, 3_600_000);
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      redisServer = await startRedisServer({ dataDir: '.data/paper-redis' });
      redisUrl = redisServer.url;
    }
    const replay = process.env.PAPER_REPLAY === '1'
      ? { 'BTC-PERP': replayFromFile(DEFAULT_REPLAY_FILE, Date.now(), intEnv('PAPER_REPLAY_MS_PER_BAR', 3_600_000, 10, 86_400_000)) }
      : undefined;
    const exchange = await PaperExchange.open({
      redis: redisUrl, keyPrefix: process.env.PAPER_KEY_PREFIX ?? 'perpdesk-paper-server', log,
      ...(replay ? { replay } : {}),
    });
    exchange.start(tickMs);
    const server = await startPaperServer({ exchange, port, host: process.env.PAPER_EXCHANGE_HOST ?? '127.0.0.1', log });
    process.stdout.write(`paper exchange listening on ${server.url} (send any X-API-Key; scenario routes under ${server.url}/paper/)\n`);
    let stopping = false;
    const stop = async (): Promise<void> => {
      if (stopping) return;
      stopping = true;
      await server.close();
      await exchange.close();
      await redisServer?.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  } catch (e) {
    await redisServer?.stop();
    if (e instanceof ConfigError) {
      process.stderr.write(`paper-exchange: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

void main();
