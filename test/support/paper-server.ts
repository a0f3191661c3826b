import { afterAll, afterEach, beforeEach } from 'vitest';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { startPaperServer, type PaperServerHandle } from '../../src/exchange/paper-server.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from './redis.js';

/**
 * A fresh paper exchange (frozen market, clock at `now`) served over HTTP for each test of the file, on its own key
 * prefix; everything is closed and deleted after. Read `paper` and `server` inside tests.
 */
export function paperServerPerTest(opts: { now: number; apiKey?: string }): { readonly paper: PaperExchange; readonly server: PaperServerHandle } {
  const redis = testRedis();
  const prefixes: string[] = [];
  let paper: PaperExchange | undefined;
  let server: PaperServerHandle | undefined;
  beforeEach(async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    paper = await PaperExchange.open({ redis, keyPrefix: prefix, clock: () => opts.now, volatilityScale: 0 });
    server = await startPaperServer({ exchange: paper, port: 0, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  });
  afterEach(async () => {
    await server?.close();
    await paper?.close();
  });
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(redis, p);
    await closeTestRedis();
  });
  return {
    get paper() {
      return paper!;
    },
    get server() {
      return server!;
    },
  };
}
