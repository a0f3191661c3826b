/**
 * `npm start`: config → Redis (REDIS_URL or a private redis-server) → exchange → services, workers, transports →
 * HTTP. The sole reader of process.env and the owner of shutdown order.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Config } from './config/env.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { startRedisServer, type RedisServerHandle } from './queues/redis-server.js';
import { createExchange } from './exchange/factory.js';
import { startApp, type App } from './app.js';
import { handleShutdown } from './process-signals.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`perpdesk: configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const hasChat = Boolean(config.DISCORD_TOKEN || config.TELEGRAM_BOT_TOKEN);
  // On an interactive console the terminal belongs to the chat: logs go to a file instead of interleaving. Without a
  // terminal (a container, a service manager, a pipe) they go to stderr, where log collectors expect them.
  const logFile = hasChat || !process.stdin.isTTY ? undefined : join(config.DATA_DIR, 'perpdesk.log');
  if (logFile) mkdirSync(dirname(logFile), { recursive: true });
  const log = createLogger(config.LOG_LEVEL, logFile ? pino.destination({ dest: logFile, sync: false }) : undefined);
  let redisServer: RedisServerHandle | undefined;
  let app: App | undefined;
  const shutdown = handleShutdown(log, async () => {
    try {
      await app?.close();
    } finally {
      await redisServer?.stop();
    }
  });

  try {
    let redisUrl = config.REDIS_URL;
    if (!redisUrl) {
      const dataDir = join(config.DATA_DIR, 'redis');
      redisServer = await startRedisServer({ dataDir });
      redisUrl = redisServer.url;
      log.info({ port: redisServer.port, dataDir }, 'started private redis-server');
    }
    const exchange = await createExchange(config, { redisUrl, log });
    app = await startApp({
      config,
      log,
      redisUrl,
      exchange,
      console: hasChat
        ? undefined
        : {
            input: process.stdin,
            output: process.stdout,
            interactive: Boolean(process.stdin.isTTY),
            // Ctrl-C or Ctrl-D at the prompt: readline holds the terminal, so it tells us instead of a signal.
            onQuit: (reason) => void shutdown(reason),
            // A closed pipe or /dev/null (a service manager, docker without a TTY) only ends console input; the bot
            // keeps running its jobs until it gets SIGINT/SIGTERM.
            onInputEnd: () => process.stderr.write('PerpDesk: console input closed; still running (stop with Ctrl-C or SIGTERM).\n'),
          },
      // Before the console's prompt, so the prompt is the last line on the terminal.
      onReady: (url) =>
        process.stderr.write(`PerpDesk listening on ${url} (/healthz, /readyz, /metrics); exchange: ${exchange.name}${logFile ? `; logs: ${logFile}` : ''}\n`),
    });
    log.info({ url: app.http.url, exchange: exchange.name }, 'perpdesk ready');
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`perpdesk: ${e.message}\n`);
      await app?.close();
      await redisServer?.stop();
      process.exit(2);
    }
    log.fatal({ err: e }, 'start-up failed');
    process.stderr.write(`perpdesk: start-up failed: ${(e as Error).message}${logFile ? ` (details in ${logFile})` : ''}\n`);
    await app?.close().catch(() => {});
    await redisServer?.stop();
    process.exit(1);
  }
}

void main();
