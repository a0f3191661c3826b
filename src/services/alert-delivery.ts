import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../log.js';
import { key, type Store } from './store.js';
import { z } from 'zod';
import { Alert as AlertSchema, DEFAULT_PREFS, destKey, telegramChatType, wants, type Alert, type Destination } from './alert-types.js';
import { alertTrack, incidentOf, incidentRef, renderAlert } from './alert-render.js';
import { DeliverJob, FanoutJob, type AlertService } from './alerts.js';
import type { Pacer } from './alert-pacing.js';
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

/** The claimed message stays with its delivery job (inflight) until sent, so a retry or 429 re-sends the same one. */
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
local top = redis.call('ZPOPMIN', KEYS[2])
if #top == 0 then return false end
redis.call('SET', KEYS[1], top[1], 'EX', 604800)
return top[1]
`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const OutboxItem = z.object({ alertId: z.string(), alert: AlertSchema });
type OutboxItem = z.infer<typeof OutboxItem>;

/** A parked job wakes up a little late; beyond this it re-reserves instead of trusting an old slot. */
const SLOT_TOLERANCE_MS = 250;
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
  constructor(private readonly d: DeliveryDeps) {}

  async process(job: Job, token?: string): Promise<string> {
    if (job.name === 'fanout') return this.#fanout(FanoutJob.parse(job.data));
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
  async #fanout(data: FanoutJob): Promise<string> {
    const dests = await this.destinations(data.alert, data.exclude);
    if (!dests.length) return 'no destinations';
    const item = JSON.stringify({ alertId: data.alertId, alert: data.alert } satisfies OutboxItem);
    const m = this.d.store.redis.multi();
    for (const dest of dests) m.zadd(this.#outbox(dest), 'NX', data.seq ?? data.alert.at, item);
    await m.exec();
    await this.d.alerts.queue.addBulk(
      dests.map((dest) => ({
        name: 'deliver',
        data: { alertId: data.alertId, dest } satisfies DeliverJob,
        opts: { jobId: `dlv-${data.alertId}-${jobSafe(destKey(dest))}` },
      })),
    );
    return `fanned out to ${dests.length}`;
  }

  // One hash tag per destination: the outbox and its in-flight claims share a Redis Cluster slot.
  #outbox(dest: Destination): string {
    return key(this.d.store, 'alerts', `{out:${destKey(dest)}}`, 'outbox');
  }

  #inflight(dest: Destination, jobId: string): string {
    return key(this.d.store, 'alerts', `{out:${destKey(dest)}}`, 'inflight', jobId);
  }

  async #deliver(job: Job, data: DeliverJob, token?: string): Promise<string> {
    const { dest } = data;
    const notifier = this.d.notifiers.get(dest.platform);
    // Retried with backoff: the transport may still be connecting.
    if (!notifier) throw new Error(`no ${dest.platform} transport in this process`);
    const now = this.d.now();
    if (data.slotAt !== undefined && now < data.slotAt - EARLY_MS) return this.#park(job, data, data.slotAt, token);
    if (data.slotAt === undefined || now - data.slotAt > SLOT_TOLERANCE_MS) {
      const slot = await this.d.pacer.reserve(dest, now);
      if (slot > now + EARLY_MS) return this.#park(job, data, slot, token);
    }
    // One sender per chat at a time, so the oldest message is also the first to arrive.
    const lock = key(this.d.store, 'alerts', `{out:${destKey(dest)}}`, 'lock');
    const me = job.id ?? 'x';
    if ((await this.d.store.redis.set(lock, me, 'PX', 30_000, 'NX')) !== 'OK') return this.#park(job, data, now + 25, token, false);
    try {
      const inflight = this.#inflight(dest, me);
      const raw = await this.d.store.redis.eval(CLAIM, 2, inflight, this.#outbox(dest));
      if (typeof raw !== 'string') return 'outbox empty';
      const item = OutboxItem.parse(JSON.parse(raw));
      const r = await this.#sendOrEdit(job, data, item.alert, token);
      await this.d.store.redis.del(inflight);
      return r;
    } catch (e) {
      if (e instanceof UnrecoverableError) await this.d.store.redis.del(this.#inflight(dest, me)).catch(() => undefined);
      throw e;
    } finally {
      await this.d.store.redis.eval(RELEASE, 1, lock, me).catch(() => undefined);
    }
  }

  async #sendOrEdit(job: Job, data: DeliverJob, alert: Alert, token?: string): Promise<string> {
    const { dest } = data;
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
        const slot = await this.d.pacer.reserve(dest, this.d.now());
        this.d.log.warn({ dest: destKey(dest), retryAfterMs: e.retryAfterMs, jobId: job.id }, 'rate limited by chat platform; delivery re-delayed');
        return this.#park(job, data, Math.max(slot, until), token);
      }
      if (e instanceof DeliveryError && e.permanent) {
        const was = await this.d.subscriptions.unsubscribe(dest);
        this.d.log.warn({ dest: destKey(dest), unsubscribed: was, kind: alert.kind }, 'chat refuses alerts; delivery dropped');
        throw new UnrecoverableError(`chat ${destKey(dest)} refuses messages: ${e.message}`);
      }
      throw e;
    }
  }

  async #shown(verKey: string, alert: Alert): Promise<void> {
    await this.d.store.redis.set(verKey, String(alert.at), 'EX', 7 * 86_400);
  }

  /** Parks the job until `until`; `reserved` says whether that time is a pacing slot it may send in. */
  async #park(job: Job, data: DeliverJob, until: number, token?: string, reserved = true): Promise<never> {
    const { slotAt: _old, ...rest } = data;
    await job.updateData((reserved ? { ...rest, slotAt: until } : rest) satisfies DeliverJob);
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
