import type { Redis } from 'ioredis';
import type { Exchange } from '../exchange/port.js';
import { AuditLog } from './audit.js';
import { CascadeState } from './cascade-state.js';
import { KillSwitch } from './kill-switch.js';
import { MarketService } from './market.js';
import { MessageRefs } from './alerts/message-refs.js';
import { Notifiers } from './alerts/notifier.js';
import { SampleStore } from './samples.js';
import type { Services, StatusInfo } from './services.js';
import { ApprovalStore } from './approvals/store.js';
import { OrderQueue } from './orders/queue.js';
import { OrderCanceller } from './orders/cancel.js';
import { FlattenStore } from './flatten/store.js';
import { silentLogger, type Logger } from '../log.js';
import { DirectAnnouncer, type Announcer, type Destination } from './alerts/announce.js';
import { queuePrefix } from '../queues/names.js';
import { AlertService } from './alerts/publish.js';
import { AlertAnnouncer } from './alerts/announcer.js';
import { PreviewEditQueue } from './approvals/preview-edits.js';
import { Subscriptions } from './alerts/subscriptions.js';
import { HarvesterState } from './harvester/state.js';
import { RefusalAudit } from './access/refusals.js';
import { ChatMigrations } from './chat-migrations.js';
import { RuleStore } from './rules/store.js';
import { VenueMarket } from './venues/venue-market.js';
import type { VenueSource } from '../venues/types.js';
import { Ledger } from './ledger/ledger.js';
import { observedExchange } from './ledger/observed-exchange.js';

export interface ServiceDeps {
  redis: Redis;
  prefix: string;
  exchange: Exchange;
  now: () => number;
  status: () => Promise<StatusInfo>;
  /** BullMQ prefix (hash-tagged); default `{<prefix>}`, so a test prefix gets its own queues. */
  queuePrefix?: string;
  /** Team alert chats for announcements (see alertDestinations in announce.ts); default: the console only. */
  alertDestinations?: Destination[];
  /** Replaces the direct announcer, e.g. with the alert pipeline. */
  announcer?: Announcer;
  /** Announce through the alert pipeline (durable, paced, every subscriber) instead of sending directly. */
  alertPipeline?: boolean;
  /** How long a symbol stays in cascade after its last hot sample (default 10 min; tests shorten it). */
  cascadeCooldownMs?: number;
  /** Real venues (MARKET_VENUES), opened by the composition root; absent = none. */
  venues?: VenueSource;
  /** For what services log on their own (a cancel whose answer never came); default silent. */
  log?: Logger;
}

/** Builds the Redis-backed services on one connection and key prefix. */
export function buildServices(d: ServiceDeps): Services {
  const store = { redis: d.redis, prefix: d.prefix };
  const audit = new AuditLog(store);
  const notifiers = new Notifiers();
  const approvals = new ApprovalStore(store, audit);
  const alerts = new AlertService({ store, queuePrefix: d.queuePrefix ?? queuePrefix(d.prefix), now: d.now });
  const ledger = new Ledger({ store, now: d.now });
  // What the services themselves send (cancels) lands in the ledger like everything the composition root sends.
  const exchange = observedExchange(d.exchange, ledger, d.log);
  return {
    market: new MarketService(d.exchange, d.now),
    samples: new SampleStore(store),
    killSwitch: new KillSwitch(store),
    cascade: new CascadeState(store, d.cascadeCooldownMs),
    audit,
    messageRefs: new MessageRefs(store),
    notifiers,
    approvals,
    flattens: new FlattenStore(store, audit),
    canceller: new OrderCanceller({ store, exchange, approvals, audit, log: d.log ?? silentLogger, now: d.now }),
    orderQueue: new OrderQueue(d.redis, d.queuePrefix ?? queuePrefix(d.prefix)),
    previewEdits: new PreviewEditQueue(d.redis, d.queuePrefix ?? queuePrefix(d.prefix)),
    alerts,
    subscriptions: new Subscriptions(store),
    harvester: new HarvesterState(store),
    refusals: new RefusalAudit(store, audit),
    chatMigrations: new ChatMigrations(store),
    rules: new RuleStore(store),
    venues: d.venues ? new VenueMarket(d.venues, store) : null,
    ledger,
    announcer: d.announcer ?? (d.alertPipeline ? new AlertAnnouncer(alerts, d.now) : undefined) ?? new DirectAnnouncer(notifiers, d.alertDestinations ?? [{ platform: 'console', chatId: 'console' }]),
    status: d.status,
  };
}
