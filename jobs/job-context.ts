import type { Config } from '../src/config/env.js';
import type { Exchange } from '../src/exchange/port.js';
import type { Logger } from '../src/log.js';
import type { AlertService } from '../src/services/alerts/publish.js';
import type { AuditLog } from '../src/services/audit.js';
import type { CascadeState } from '../src/services/cascade-state.js';
import type { HarvesterState } from '../src/services/harvester/state.js';
import type { Ledger } from '../src/services/ledger/ledger.js';
import type { KillSwitch } from '../src/services/kill-switch.js';
import type { MarketService } from '../src/services/market.js';
import type { SampleStore } from '../src/services/samples.js';
import type { Store } from '../src/services/store.js';
import type { JobTuning } from '../src/config/tuning.js';
import type { RuleStore } from '../src/services/rules/store.js';
import type { VenueMarket } from '../src/services/venues/venue-market.js';

export { DEFAULT_TUNING, type JobTuning } from '../src/config/tuning.js';

/** What every background job receives. Jobs reach the exchange and Redis only through these. */
export interface JobContext {
  exchange: Exchange;
  config: Config;
  log: Logger;
  now(): number;
  /** Redis connection + key prefix for the jobs' own small state (last alert per condition, signal state). */
  store: Store;
  market: MarketService;
  samples: SampleStore;
  killSwitch: KillSwitch;
  cascade: CascadeState;
  audit: AuditLog;
  alerts: AlertService;
  harvester: HarvesterState;
  /** Per-chat alert rules (`/alert`). */
  rules: RuleStore;
  /** Real venues (MARKET_VENUES); null when none are configured. */
  venues: VenueMarket | null;
  /** The desk's ledger (fills, funding settlements); absent in harnesses that build a context by hand. */
  ledger?: Ledger;
  tuning: JobTuning;
}
