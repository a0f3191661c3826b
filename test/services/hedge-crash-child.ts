/**
 * A process that runs one harvester plan against the exchange stand-in of hedge-executor.test.ts and is killed by
 * that test (SIGKILL) at the moment it chooses, e.g. while the unwind order is in flight. Configured through the
 * environment.
 */
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { silentLogger } from '../../src/log.js';
import { createRedis } from '../../src/queues/redis.js';
import { AlertService } from '../../src/services/alerts/publish.js';
import { AuditLog } from '../../src/services/audit.js';
import { HarvesterState } from '../../src/services/harvester/state.js';
import { HedgeExecutor } from '../../src/services/harvester/hedge-executor.js';
import { CascadeState } from '../../src/services/cascade-state.js';
import { KillSwitch } from '../../src/services/kill-switch.js';
import { MarketService } from '../../src/services/market.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const prefix = env('PD_PREFIX');
const t = Number(env('PD_CLOCK'));
const redis = createRedis(env('PD_REDIS_URL'), 'client');
const store = { redis, prefix };
const exchange = new PurpleFleaClient({ baseUrl: env('PD_EXCHANGE_URL'), apiKey: 'child-key', retries: 0 });
const executor = new HedgeExecutor({
  // Plans here are sized by hand (1 BTC); the notional cap does not bind (test/money-paths/harvester-reprice.test.ts).
  config: { MAX_NOTIONAL_USD: 1_000_000 },
  exchange,
  harvester: new HarvesterState(store),
  audit: new AuditLog(store),
  alerts: new AlertService({ store, queuePrefix: `{${prefix}}`, now: () => t }),
  killSwitch: new KillSwitch(store),
  cascade: new CascadeState(store),
  market: new MarketService(exchange, () => t),
  log: silentLogger,
  now: () => t,
});
// Safety net: never outlive the test if the kill does not come.
setTimeout(() => process.exit(3), 15_000).unref();
await executor.run(env('PD_PLAN'));
process.exit(4);
