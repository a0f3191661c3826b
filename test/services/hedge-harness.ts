/**
 * The hedge executor on real parts: real Redis (own key prefix), the real alert pipeline's queue, the Purple Flea
 * client against the order-book stand-in of hedge-stand-in.ts. Each test gets its own; `close()` removes it all.
 */
import { Queue } from 'bullmq';
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { silentLogger } from '../../src/log.js';
import { AlertService, FanoutJob } from '../../src/services/alerts/publish.js';
import type { Alert } from '../../src/services/alerts/types.js';
import { AuditLog, type AuditEntry } from '../../src/services/audit.js';
import { CascadeState } from '../../src/services/cascade-state.js';
import { HarvesterState } from '../../src/services/harvester/state.js';
import { HedgeExecutor } from '../../src/services/harvester/hedge-executor.js';
import { KillSwitch } from '../../src/services/kill-switch.js';
import { MarketService } from '../../src/services/market.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';
import { bookStandIn, type BookStandIn } from './hedge-stand-in.js';

/** Plans here are sized by hand (1 BTC): the notional cap must not bind (re-sizing: test/money-paths/harvester-reprice.test.ts). */
const HAND_SIZED = { MAX_NOTIONAL_USD: 1_000_000 };

export const T0 = 1_767_225_600_000;

export interface HedgeHarness {
  s: BookStandIn;
  redis: ReturnType<typeof testRedis>;
  prefix: string;
  harvester: HarvesterState;
  audit: AuditLog;
  alerts: AlertService;
  killSwitch: KillSwitch;
  cascade: CascadeState;
  clock: { now: number };
  executor(): HedgeExecutor;
  /** Alerts published so far (read from the alert queue), oldest first. */
  published(): Promise<Alert[]>;
  /** Audit entries about `subject`, oldest first. */
  auditOf(subject: string): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

export async function hedgeHarness(): Promise<HedgeHarness> {
  const prefix = testPrefix();
  const redis = testRedis();
  const s = await bookStandIn();
  const store = { redis, prefix };
  const clock = { now: T0 };
  const alerts = new AlertService({ store, queuePrefix: `{${prefix}}`, now: () => clock.now });
  const exchange = new PurpleFleaClient({ baseUrl: s.ex.url, apiKey: 'parent-key', retries: 0 });
  const harvester = new HarvesterState(store);
  const audit = new AuditLog(store);
  const killSwitch = new KillSwitch(store);
  const cascade = new CascadeState(store);
  const market = new MarketService(exchange, () => clock.now);
  return {
    s, redis, prefix, harvester, audit, alerts, killSwitch, cascade, clock,
    executor: () => new HedgeExecutor({ config: HAND_SIZED, exchange, harvester, audit, alerts, killSwitch, cascade, market, log: silentLogger, now: () => clock.now }),
    async published() {
      const q = new Queue(alerts.queue.name, { connection: redis, prefix: `{${prefix}}` });
      try {
        const jobs = await q.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed']);
        return jobs.map((j) => FanoutJob.parse(j.data)).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)).map((j) => j.alert);
      } finally {
        await q.close();
      }
    },
    async auditOf(subject) {
      return (await audit.latest(500)).filter((e) => e.subject === subject).reverse();
    },
    async close() {
      await alerts.queue.obliterate({ force: true });
      await alerts.close();
      await exchange.close();
      await s.ex.close();
      await deletePrefix(redis, prefix);
      await deletePrefix(redis, `{${prefix}}`);
      await closeTestRedis();
    },
  };
}
