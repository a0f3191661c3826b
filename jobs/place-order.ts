/**
 * The `place-order` job: a BullMQ worker on the orders queue runs OrderExecutor for each approved order (job id =
 * approval id). On start it reconciles every approved/submitted approval with the exchange, then sweeps
 * periodically: pending previews past their deadline expire, lost jobs are enqueued again, resting orders are
 * followed until they fill.
 */
import { Worker, type Job } from 'bullmq';
import type { Config } from '../src/config/env.js';
import type { Exchange } from '../src/exchange/port.js';
import { observedExchange } from '../src/services/ledger/observed-exchange.js';
import type { Logger } from '../src/log.js';
import { QUEUES } from '../src/queues/names.js';
import { closeRedis, createRedis } from '../src/queues/redis.js';
import { metered, WORKER_METRICS } from '../src/queues/metered.js';
import { ApprovalNotices } from '../src/services/approvals/notices.js';
import type { ApprovalRecord } from '../src/services/approvals/types.js';
import { FLATTEN_JOB, FlattenJobData, PlaceOrderData } from '../src/services/orders/queue.js';
import { FlattenExecutor, type FlattenSweepReport } from '../src/services/flatten/executor.js';
import { FlattenNotices } from '../src/services/flatten/notices.js';
import { OrderExecutor, type ReconcileReport } from '../src/services/orders/executor.js';
import type { Services } from '../src/services/services.js';

export const DEFAULT_SWEEP_MS = 15_000;

export interface OrderProcessingOptions {
  redisUrl: string;
  services: Pick<Services, 'approvals' | 'orderQueue' | 'killSwitch' | 'cascade' | 'messageRefs' | 'notifiers' | 'announcer' | 'flattens' | 'canceller' | 'market' | 'audit' | 'harvester' | 'alerts'> & Partial<Pick<Services, 'previewEdits' | 'ledger'>>;
  exchange: Exchange;
  config: Pick<Config, 'MAX_LEVERAGE' | 'MAX_NOTIONAL_USD'>;
  log: Logger;
  now: () => number;
  concurrency?: number;
  /** Period of the expiry/reconciliation sweep; 0 turns it off (start-up reconciliation still runs). */
  sweepMs?: number;
  /** Replaces the default final notices (edit the preview messages, announce filled/failed orders). */
  onFinal?: (rec: ApprovalRecord) => Promise<void>;
  /** How long a flatten runner's claim lasts without a touch (tests of a crashed runner shorten it). */
  flattenRunnerTtlMs?: number;
}

export interface OrderProcessing {
  executor: OrderExecutor;
  flatten: FlattenExecutor;
  worker: Worker;
  /** Expire overdue previews, reconcile open approvals with the exchange and resume unfinished flattens now. */
  sweep(): Promise<ReconcileReport & { flattens: FlattenSweepReport }>;
  close(): Promise<void>;
}

export async function startOrderProcessing(o: OrderProcessingOptions): Promise<OrderProcessing> {
  // Every fill of an approved order or a flatten leg lands in the desk's ledger (a no-op when already wrapped).
  const exchange = o.services.ledger ? observedExchange(o.exchange, o.services.ledger, o.log) : o.exchange;
  const notices = new ApprovalNotices({ ...o.services, log: o.log });
  const executor = new OrderExecutor({
    approvals: o.services.approvals,
    exchange,
    killSwitch: o.services.killSwitch,
    cascade: o.services.cascade,
    config: o.config,
    log: o.log,
    now: o.now,
    onFinal: o.onFinal ?? ((rec) => notices.finalized(rec)),
    onAccepted: (rec) => notices.updated(rec),
  });
  const flattenNotices = new FlattenNotices({ ...o.services, log: o.log });
  const flatten = new FlattenExecutor({
    flattens: o.services.flattens,
    approvals: o.services.approvals,
    canceller: o.services.canceller,
    exchange,
    cascade: o.services.cascade,
    market: o.services.market,
    audit: o.services.audit,
    announcer: o.services.announcer,
    harvester: o.services.harvester,
    alerts: o.services.alerts,
    log: o.log,
    now: o.now,
    onUpdate: (rec, legs) => flattenNotices.updated(rec, legs),
    onApprovalFinal: (rec) => notices.finalized(rec),
    ...(o.flattenRunnerTtlMs === undefined ? {} : { runnerTtlMs: o.flattenRunnerTtlMs }),
  });
  const connection = createRedis(o.redisUrl, 'worker');
  connection.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'orders worker redis error'));
  const worker = new Worker(
    QUEUES.orders,
    metered(QUEUES.orders, async (job: Job) => {
      if (job.name === FLATTEN_JOB) {
        const { flattenId } = FlattenJobData.parse(job.data);
        const rec = await flatten.run(flattenId);
        return { status: rec?.status ?? 'unknown' };
      }
      const { approvalId } = PlaceOrderData.parse(job.data);
      const rec = await executor.execute(approvalId);
      return { status: rec?.status ?? 'unknown' };
    }),
    { connection, prefix: o.services.orderQueue.prefix, concurrency: o.concurrency ?? 4, metrics: WORKER_METRICS },
  );
  worker.on('failed', (job, err) => o.log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: { message: err.message } }, 'order job failed'));
  worker.on('error', (err) => o.log.error({ err }, 'orders worker error'));

  type SweepReport = ReconcileReport & { flattens: FlattenSweepReport };
  let sweeping: Promise<SweepReport> | undefined;
  const sweep = (): Promise<SweepReport> => {
    // One sweep at a time; a tick that arrives during one shares its result.
    sweeping ??= executor
      .reconcile((id) => o.services.orderQueue.requeue(id))
      .then(async (r) => {
        if (r.recorded.length || r.enqueued.length || r.expired.length) o.log.info({ ...r }, 'orders reconciled');
        // Unfinished flattens (a crashed runner) continue here: each leg is looked up before it is acted on.
        const flattens = await flatten.sweep();
        if (flattens.resumed.length || flattens.expired.length) o.log.info({ ...flattens }, 'flattens swept');
        return { ...r, flattens };
      })
      .finally(() => {
        sweeping = undefined;
      });
    return sweeping;
  };

  // A failed start-up reconciliation (exchange down) is retried by the sweep; it must not stop the desk.
  await sweep().catch((err: unknown) => o.log.error({ err }, 'start-up order reconciliation failed'));
  const sweepMs = o.sweepMs ?? DEFAULT_SWEEP_MS;
  const timer = sweepMs > 0
    ? setInterval(() => void sweep().catch((err: unknown) => o.log.warn({ err }, 'order sweep failed')), sweepMs)
    : undefined;
  timer?.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (timer) clearInterval(timer);
      await sweeping?.catch(() => undefined);
      try {
        await worker.close();
      } finally {
        await closeRedis(connection);
      }
    })();
    return closing;
  };
  return { executor, flatten, worker, sweep, close };
}
