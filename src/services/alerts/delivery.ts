import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../../log.js';
import { key, type Store } from '../store.js';
import { DEFAULT_PREFS, destKey, telegramChatType, wants, type Alert, type Destination } from './types.js';
import { alertTrack, incidentOf, incidentRef, renderAlert } from './render.js';
import { DeliverJob, FanoutJob, type AlertService } from './publish.js';
import type { Pacer } from './pacing.js';
import { Outbox, type Claimed } from './outbox.js';
import type { MessageRefs, StoredMessageRef } from './message-refs.js';
import { DeliveryError, type Notifiers } from './notifier.js';
import type { Subscriptions } from './subscriptions.js';

export interface DeliveryDeps {
  store: Store;
  alerts: AlertService;
  notifiers: Notifiers;
  subscriptions: Subscriptions;
  messageRefs: MessageRefs;
  pacer: Pacer;
  /** Configured team destinations (DISCORD_ALERT_CHANNEL_ID, TELEGRAM_ALERT_CHAT_ID). */
  teamDestinations: Destination[];
  log: Logger;
  now: () => number;
}

const FANOUT_WAIT_MS = 2_000;

/** A slot not used within this long (worker down, long lock wait) is given up and a fresh one reserved. */
const STALE_SLOT_MS = 5_000;
/** Waking up this close to the slot counts as on time. */
const EARLY_MS = 3;

/**
 * The notify queue's processor, run only where the transports live. `fanout` picks the destinations that want an
 * alert and adds one delivery job each (job id per alert and destination, so a retried fan-out adds nothing twice);
 * `deliver` waits for the destination's pacing slot, then edits the incident's earlier message there or sends a new
 * one. A 429 re-parks the job for `retry_after` (the message is never dropped); a permanent refusal (blocked bot)
 * unsubscribes the chat and ends the job.
 */
export class AlertDelivery {
  readonly #outbox: Outbox;

  constructor(private readonly d: DeliveryDeps) {
    this.#outbox = new Outbox(d.store);
  }

  async process(job: Job, token?: string): Promise<string> {
    if (job.name === 'fanout') return this.#fanout(job, FanoutJob.parse(job.data), token);
    if (job.name === 'deliver') return this.#deliver(job, DeliverJob.parse(job.data), token);
    throw new UnrecoverableError(`unknown notify job ${job.name}`);
  }

  async destinations(alert: Alert, exclude: string[] = []): Promise<Destination[]> {
    const subs = await this.d.subscriptions.list();
    const byKey = new Map<string, { dest: Destination; prefs: typeof DEFAULT_PREFS }>();
    for (const dest of this.d.teamDestinations) byKey.set(destKey(dest), { dest, prefs: DEFAULT_PREFS });
    if (this.d.notifiers.get('console')) {
      const dest: Destination = { platform: 'console', chatId: 'console' };
      byKey.set(destKey(dest), { dest, prefs: DEFAULT_PREFS });
    }
    for (const s of subs) {
      // A subscriber on a platform this process cannot reach would only fill the failed set.
      if (!this.d.notifiers.get(s.dest.platform)) continue;
      const prior = byKey.get(destKey(s.dest));
      byKey.set(destKey(s.dest), { dest: prior?.dest ?? s.dest, prefs: s.prefs });
    }
    let out = [...byKey.values()].filter((x) => !exclude.includes(destKey(x.dest)) && wants(x.prefs, alert)).map((x) => x.dest);
    if (alert.editOnly) {
      const refs = await this.d.messageRefs.get(alertTrack(incidentRef(incidentOf(alert))));
      const have = new Set(refs.map((r) => `${r.platform}:${r.chatId}`));
      out = out.filter((dest) => have.has(destKey(dest)));
    }
    return out;
  }

  /**
   * Each destination is a FIFO outbox (a sorted set by publish sequence) plus one delivery job per message. A
   * delivery job is a send slot: when it fires it takes the oldest message of its outbox, so a chat sees alerts in
   * the order they were published even when fan-outs and deliveries run concurrently.
   */
  async #fanout(job: Job, data: FanoutJob, token?: string): Promise<string> {
    if (data.seq !== undefined) {
      const now = this.d.now();
      const since = data.waitSince ?? now;
      // The predecessor's fan-out is still queued or running: wait a moment so outboxes fill in publish order.
      // A predecessor that never comes (its enqueue failed) holds nobody up for long.
      if ((await this.#outbox.fannedUpTo()) < data.seq - 1 && now - since < FANOUT_WAIT_MS) {
        await job.updateData({ ...data, waitSince: since } satisfies FanoutJob);
        await job.moveToDelayed(now + 10, token);
        throw new DelayedError();
      }
    }
    const dests = await this.destinations(data.alert, data.exclude);
    if (dests.length) {
      await this.#outbox.add(dests, { alertId: data.alertId, alert: data.alert, seq: data.seq ?? data.alert.at });
      await this.d.alerts.queue.addBulk(
        dests.map((dest) => ({
          name: 'deliver',
          data: { alertId: data.alertId, dest } satisfies DeliverJob,
          opts: { jobId: `dlv-${data.alertId}-${jobSafe(destKey(dest))}` },
        })),
      );
    }
    if (data.seq !== undefined) await this.#outbox.markFanned(data.seq);
    return `fanned out to ${dests.length}`;
  }

  async #deliver(job: Job, input: DeliverJob, token?: string): Promise<string> {
    let data = input;
    const { dest } = data;
    const notifier = this.d.notifiers.get(dest.platform);
    // Retried with backoff: the transport may still be connecting.
    if (!notifier) throw new Error(`no ${dest.platform} transport in this process`);
    const now = this.d.now();
    // A slot held too long (the worker was down) is no promise any more: take a fresh one.
    const held = data.held === true && data.slotAt !== undefined && now - data.slotAt <= STALE_SLOT_MS;
    if (held && now < data.slotAt! - EARLY_MS) return this.#park(job, data, data.slotAt!, token, 'held');
    if (!held) {
      const slot = await this.d.pacer.reserve(dest, now);
      if (slot > now + EARLY_MS) return this.#park(job, data, slot, token, 'slot');
      data = { ...data, slotAt: slot, held: true };
    }
    const me = job.id ?? 'x';
    if (!(await this.#outbox.lock(dest, me))) return this.#park(job, data, now + 25, token, 'held');
    try {
      // Admitted before taking a message: a job that has to wait holds none, so the next one in order is not skipped.
      const { wait, ticket } = await this.d.pacer.admitSend(dest);
      if (wait > 0) return await this.#park(job, data, this.d.now() + wait, token, 'held');
      try {
        const claimed = await this.#outbox.claim(dest, me);
        if (!claimed) return 'outbox empty';
        const r = await this.#sendOrEdit(job, data, claimed, token);
        await this.#outbox.done(dest, me);
        return r;
      } finally {
        await this.d.pacer.finished(dest, ticket).catch(() => undefined);
      }
    } finally {
      await this.#outbox.unlock(dest, me).catch(() => undefined);
    }
  }

  async #sendOrEdit(job: Job, data: DeliverJob, claimed: Claimed, token?: string): Promise<string> {
    const { dest } = data;
    const alert = claimed.item.alert;
    const me = job.id ?? 'x';
    const ref = incidentRef(incidentOf(alert));
    const notifier = this.d.notifiers.get(dest.platform)!;
    const verKey = key(this.d.store, 'alerts', 'ver', ref, destKey(dest));
    const shown = Number((await this.d.store.redis.get(verKey)) ?? '-1');
    // A follow-up already on screen is newer than this one: showing this would go backwards.
    if (alert.at < shown) return 'stale';
    const reply = renderAlert(alert, await this.d.alerts.ackOf(ref));
    const track = alertTrack(ref);
    const existing = (await this.d.messageRefs.get(track)).find((r) => r.platform === dest.platform && r.chatId === dest.chatId);
    try {
      if (existing) {
        try {
          await notifier.edit(existing, reply);
          await this.#shown(verKey, alert);
          return 'edited';
        } catch (e) {
          // The original is gone (deleted, too old to edit): post the follow-up as a new message instead.
          if (!(e instanceof DeliveryError && e.permanent)) throw e;
          if (alert.editOnly) return 'original gone';
        }
      } else if (alert.editOnly) {
        return 'nothing to edit';
      }
      const sent = await notifier.send(dest.chatId, reply);
      await this.d.messageRefs.add(track, toStored(sent));
      await this.#shown(verKey, alert);
      return 'sent';
    } catch (e) {
      if (e instanceof DeliveryError && e.retryAfterMs !== undefined && !e.permanent) {
        const until = this.d.now() + e.retryAfterMs;
        await this.d.pacer.block(dest, until);
        // Back to the head of the chat's outbox: whichever slot fires first after the wait sends it, in order.
        await this.#outbox.putBack(dest, claimed, me);
        const slot = await this.d.pacer.reserve(dest, this.d.now());
        this.d.log.warn({ dest: destKey(dest), retryAfterMs: e.retryAfterMs, jobId: job.id }, 'rate limited by chat platform; delivery re-delayed');
        return this.#park(job, data, Math.max(slot, until), token, 'slot');
      }
      if (e instanceof DeliveryError && e.permanent) {
        const was = await this.d.subscriptions.unsubscribe(dest);
        await this.#outbox.drop(dest, me);
        this.d.log.warn({ dest: destKey(dest), unsubscribed: was, kind: alert.kind }, 'chat refuses alerts; delivery dropped');
        throw new UnrecoverableError(`chat ${destKey(dest)} refuses messages: ${e.message}`);
      }
      throw e;
    }
  }

  async #shown(verKey: string, alert: Alert): Promise<void> {
    await this.d.store.redis.set(verKey, String(alert.at), 'EX', 7 * 86_400);
  }

  /**
   * Parks the job until `until`: `slot` — that time is a freshly reserved slot; `held` — it keeps the slot it holds
   * (waiting for the chat's lock or window).
   */
  async #park(job: Job, data: DeliverJob, until: number, token: string | undefined, mode: 'slot' | 'held'): Promise<never> {
    const next: DeliverJob = { ...data, slotAt: mode === 'slot' ? until : data.slotAt, held: true };
    await job.updateData(next);
    await job.moveToDelayed(until, token);
    throw new DelayedError();
  }
}

function toStored(r: StoredMessageRef): StoredMessageRef {
  return { platform: r.platform, chatId: r.chatId, messageId: r.messageId };
}

/** BullMQ job ids must not contain `:`. */
function jobSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Team destinations from the configuration. */
export function teamDestinations(c: { DISCORD_TOKEN?: unknown; DISCORD_ALERT_CHANNEL_ID?: string; TELEGRAM_BOT_TOKEN?: unknown; TELEGRAM_ALERT_CHAT_ID?: string }): Destination[] {
  const out: Destination[] = [];
  if (c.DISCORD_TOKEN && c.DISCORD_ALERT_CHANNEL_ID) out.push({ platform: 'discord', chatId: c.DISCORD_ALERT_CHANNEL_ID });
  if (c.TELEGRAM_BOT_TOKEN && c.TELEGRAM_ALERT_CHAT_ID) {
    out.push({ platform: 'telegram', chatId: c.TELEGRAM_ALERT_CHAT_ID, chatType: telegramChatType(c.TELEGRAM_ALERT_CHAT_ID) });
  }
  return out;
}
