import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import type { Exchange } from '../../src/exchange/port.js';
import { silentLogger } from '../../src/log.js';
import { createRedis, closeRedis } from '../../src/queues/redis.js';
import { deletePrefix, redisUrl, testPrefix } from './redis.js';
import { TEAM_ENV } from './desk.js';

export interface TestApp {
  app: App;
  paper: PaperExchange;
  prefix: string;
  close(): Promise<void>;
}

/**
 * The whole app (startApp) on real Redis, a fresh key prefix and a frozen in-process paper market; `env` is added to
 * TEAM_ENV. `exchange` puts something in front of the paper market (an HTTP client to it, say); the app uses that.
 */
export async function startTestApp(
  env: Record<string, string>,
  opts: { now?: () => number; exchange?: (paper: PaperExchange) => Promise<Exchange> } = {},
): Promise<TestApp> {
  const prefix = testPrefix();
  const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7, clock: opts.now });
  const exchange = opts.exchange ? await opts.exchange(paper) : paper;
  const app = await startApp({ config: loadConfig({ ...TEAM_ENV, ...env }), log: silentLogger, redisUrl: redisUrl(), exchange, prefix, httpPort: 0, now: opts.now });
  return {
    app,
    paper,
    prefix,
    async close() {
      await app.close(); // closes the exchange too
      if (exchange !== paper) await paper.close();
      const r = createRedis(redisUrl());
      await deletePrefix(r, prefix);
      await closeRedis(r);
    },
  };
}
