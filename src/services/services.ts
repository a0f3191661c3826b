import type { MarketService } from './market.js';
import type { SampleStore } from './samples.js';
import type { KillSwitch } from './kill-switch.js';
import type { CascadeState } from './cascade-state.js';
import type { AuditLog } from './audit.js';
import type { MessageRefs } from './alerts/message-refs.js';
import type { Notifiers } from './alerts/notifier.js';
import type { ApprovalStore } from './approvals/store.js';
import type { PreviewEditQueue } from './approvals/preview-edits.js';
import type { OrderQueue } from './orders/queue.js';
import type { OrderCanceller } from './orders/cancel.js';
import type { FlattenStore } from './flatten/store.js';
import type { Announcer } from './alerts/announce.js';
import type { AlertService } from './alerts/publish.js';
import type { Subscriptions } from './alerts/subscriptions.js';
import type { HarvesterState } from './harvester/state.js';
import type { RefusalAudit } from './access/refusals.js';
import type { ChatMigrations } from './chat-migrations.js';
import type { RuleStore } from './rules/store.js';
import type { VenueMarket } from './venues/venue-market.js';
import type { Ledger } from './ledger/ledger.js';

export interface StatusInfo {
  exchange: string;
  exchangeOk: boolean;
  redisOk: boolean;
  queues: { name: string; waiting: number; active: number; delayed: number; failed: number }[];
  schedulers: { id: string; everyMs: number | null; next: number | null }[];
  transports: string[];
  startedAt: number;
  /** The dead man's switch's view: every process's last beat and each job's last finished run (issue 18). */
  heartbeats?: {
    /** This process's id. */
    self: string;
    processes: { id: string; role: 'bot' | 'worker'; pid: number; host: string; at: number; silent: boolean }[];
    jobs: Record<string, { at: number; outcome: 'ok' | 'failed' }>;
  };
}

/** Redis-backed services the commands and jobs use; main.ts builds them, tests build them on a test prefix. */
export interface Services {
  market: MarketService;
  samples: SampleStore;
  killSwitch: KillSwitch;
  cascade: CascadeState;
  audit: AuditLog;
  messageRefs: MessageRefs;
  /** Outbound side of the transports running in this process (empty in a jobs-only worker). */
  notifiers: Notifiers;
  /** Order approvals (the persisted state machine) and the queue that places approved orders. */
  approvals: ApprovalStore;
  orderQueue: OrderQueue;
  /** Cancels resting orders once (`/cancel`, flatten), ending their approvals `canceled`. */
  canceller: OrderCanceller;
  /** `/flatten` requests, their approvals and their legs. */
  flattens: FlattenStore;
  /** Preview edits for the process with the chat transports, when an approval changes state elsewhere. */
  previewEdits: PreviewEditQueue;
  /** "order" and "trading paused/resumed" announcements to every alert destination. */
  announcer: Announcer;
  /** The alert pipeline's entrance (`alerts.publish`), chats that opted in, and the funding harvester's state. */
  alerts: AlertService;
  subscriptions: Subscriptions;
  harvester: HarvesterState;
  /** Rate-limited audit of strangers refused by the access rule (commands/access.ts). */
  refusals: RefusalAudit;
  /** Chats that moved to a new id (a Telegram group upgraded to a supergroup). */
  chatMigrations: ChatMigrations;
  /** Per-chat alert rules (`/alert`) and their evaluation state. */
  rules: RuleStore;
  /** Real venues' market data through ccxt (MARKET_VENUES); null when none are configured. */
  venues: VenueMarket | null;
  /**
   * The desk's fills and funding settlements (src/services/ledger). Fills are recorded by the exchange the
   * composition root wraps with `observedExchange`; `ledger.fillsSince(symbol, ts)` tells whether a PerpDesk order
   * changed a position.
   */
  ledger: Ledger;
  status(): Promise<StatusInfo>;
}
