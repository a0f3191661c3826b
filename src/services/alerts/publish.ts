import { randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { alertsDeduplicatedTotal, alertsPublishedTotal } from '../../metrics/registry.js';
import { QUEUES } from '../../queues/names.js';
import { key, type Store } from '../store.js';
import { Alert, Destination, type AlertInput } from './types.js';
import { incidentOf, incidentRef, type AckState } from './render.js';
import { parseStored } from '../stored-values.js';

export const DEFAULT_ALERT_COOLDOWN_MS = 600_000;
const INCIDENT_TTL_S = 7 * 86_400;

/** BullMQ job data of the notify queue. */
export const FanoutJob = z.object({
  alertId: z.string(),
  alert: Alert,
  /** Publish order; fan-outs run in this order so every chat's outbox fills in publish order. */
  seq: z.number().optional(),
  /** When this fan-out started waiting for its predecessor. */
  waitSince: z.number().optional(),
  exclude: z.array(z.string()).optional(),
});
export type FanoutJob = z.infer<typeof FanoutJob>;
/** The drainer of a destination's outbox (see AlertDelivery); the messages wait in the outbox. */
export const DeliverJob = z.object({
  /** The alert whose fan-out started this drainer. */
  alertId: z.string().optional(),
  dest: Destination,
  /** The pacing slot this job reserved; `held` once reserved, so waiting for the chat does not reserve again. */
  slotAt: z.number().optional(),
  held: z.boolean().optional(),
});
export type DeliverJob = z.infer<typeof DeliverJob>;

export const NOTIFY_JOB_OPTIONS: JobsOptions = {
  // Delivery retries until the platform answers; failed jobs stay visible in /status rather than vanish.
  attempts: 25,
  backoff: { type: 'capped' },
  removeOnComplete: { count: 2000 },
  removeOnFail: { count: 5000 },
};

/** grammY's auto-retry schedule: 3 s doubling, at most an hour between tries. */
export function notifyBackoff(attemptsMade: number): number {
  return Math.min(3_000 * 2 ** Math.max(0, attemptsMade - 1), 3_600_000);
}

export interface PublishResult {
  published: boolean;
  alertId?: string;
  reason?: 'duplicate';
}

export type AckResult =
  | { ok: true; alert: Alert; ack: AckState }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'already'; ack: AckState };

const AckSchema = z.object({ by: z.string(), at: z.number() });

export interface AlertServiceOptions {
  store: Store;
  /** BullMQ key prefix (hash-tagged, e.g. `{perpdesk}`). */
  queuePrefix: string;
  now: () => number;
  log?: Logger;
}

/**
 * The alert pipeline's entrance. `publish` de-duplicates by key within a cooldown (SET NX PX), remembers the
 * incident (for follow-up edits and the Acknowledge button) and enqueues one durable fan-out job; the notify worker
 * of the process that runs the chat transports expands it into one paced delivery job per destination.
 * Jobs-only workers publish here too: nothing is sent from a process without transports.
 */
export class AlertService {
  #queue: Queue | undefined;

  constructor(private readonly o: AlertServiceOptions) {}

  /** Created on first use so services built only for commands open no queue. */
  get queue(): Queue {
    if (!this.#queue) {
      this.#queue = new Queue(QUEUES.notify, { connection: this.o.store.redis, prefix: this.o.queuePrefix, defaultJobOptions: NOTIFY_JOB_OPTIONS });
      // Connection errors surface on the calls that fail; the event alone must not reach stderr.
      this.#queue.on('error', (err) => this.o.log?.debug({ err: { message: err.message } }, 'notify queue connection error'));
    }
    return this.#queue;
  }

  #k(...parts: string[]): string {
    return key(this.o.store, 'alerts', ...parts);
  }

  /**
   * `alertId` fixes the fan-out's job id, for an alert that must go out exactly once even if its publisher dies
   * between the de-dup key and the enqueue (the daily summary): publishing it again enqueues it if it is missing,
   * and BullMQ keeps one job per id otherwise.
   */
  async publish(input: AlertInput, opts: { alertId?: string } = {}): Promise<PublishResult> {
    const alert = Alert.parse({ ...input, at: input.at ?? this.o.now() });
    const redis = this.o.store.redis;
    const dedup = this.#k('dedup', alert.key);
    const cooldown = alert.cooldownMs ?? DEFAULT_ALERT_COOLDOWN_MS;
    const fresh = await redis.set(dedup, String(alert.at), 'PX', cooldown, 'NX');
    if (fresh !== 'OK') {
      if (opts.alertId && !(await this.queue.getJob(`fan-${opts.alertId}`))) {
        await this.#remember(alert);
        const seq = await redis.incr(this.#k('seq'));
        await this.queue.add('fanout', { alertId: opts.alertId, alert, seq } satisfies FanoutJob, { jobId: `fan-${opts.alertId}` });
        this.o.log?.info({ kind: alert.kind, key: alert.key }, 'alert enqueued again after an interrupted publish');
        return { published: true, alertId: opts.alertId };
      }
      this.o.log?.debug({ key: alert.key }, 'alert de-duplicated');
      alertsDeduplicatedTotal.inc({ severity: alert.severity });
      return { published: false, reason: 'duplicate' };
    }
    const alertId = opts.alertId ?? randomUUID();
    try {
      await this.#remember(alert);
      const seq = await redis.incr(this.#k('seq'));
      await this.queue.add('fanout', { alertId, alert, seq } satisfies FanoutJob, { jobId: `fan-${alertId}` });
    } catch (e) {
      // Not enqueued: free the key so the next run raises it again instead of it being lost for a cooldown.
      await redis.del(dedup).catch(() => undefined);
      throw e;
    }
    this.o.log?.info({ kind: alert.kind, key: alert.key, symbol: alert.symbol, severity: alert.severity }, 'alert published');
    alertsPublishedTotal.inc({ severity: alert.severity });
    return { published: true, alertId };
  }

  /** Latest version of an incident, by its button ref. */
  async incident(ref: string): Promise<Alert | null> {
    const raw = await this.o.store.redis.get(this.#k('incident', ref));
    return raw ? parseStored(Alert, raw) : null;
  }

  async ackOf(ref: string): Promise<AckState | null> {
    const raw = await this.o.store.redis.get(this.#k('ack', ref));
    return raw ? parseStored(AckSchema, raw) : null;
  }

  /**
   * Records the first acknowledgement of an incident and refreshes its messages in the other chats (the clicked
   * one is updated by the button reply itself).
   */
  async acknowledge(ref: string, by: string, at: number, clicked?: Pick<Destination, 'platform' | 'chatId'>): Promise<AckResult> {
    const alert = await this.incident(ref);
    if (!alert) return { ok: false, reason: 'unknown' };
    const ack: AckState = { by, at };
    const set = await this.o.store.redis.set(this.#k('ack', ref), JSON.stringify(ack), 'EX', INCIDENT_TTL_S, 'NX');
    if (set !== 'OK') {
      const prior = await this.ackOf(ref);
      return { ok: false, reason: 'already', ack: prior ?? ack };
    }
    const alertId = randomUUID();
    const exclude = clicked ? [`${clicked.platform}:${clicked.chatId}`] : [];
    const seq = await this.o.store.redis.incr(this.#k('seq'));
    await this.queue.add('fanout', { alertId, alert: { ...alert, editOnly: true }, seq, exclude } satisfies FanoutJob, { jobId: `fan-${alertId}` });
    return { ok: true, alert, ack };
  }

  async #remember(alert: Alert): Promise<void> {
    const ref = incidentRef(incidentOf(alert));
    await this.o.store.redis.set(this.#k('incident', ref), JSON.stringify(alert), 'EX', INCIDENT_TTL_S);
  }

  async close(): Promise<void> {
    const q = this.#queue;
    this.#queue = undefined;
    await q?.close().catch(() => undefined);
  }
}

