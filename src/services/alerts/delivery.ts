import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../../log.js';
import { alertsCoalescedTotal, alertsDeferredTotal, alertsDeliveredTotal, alertsDroppedTotal } from '../../metrics/registry.js';
import { key, type Store } from '../store.js';
import { DEFAULT_PREFS, deliveryOf, destKey, isUrgent, telegramChatType, type Alert, type AlertKind, type Destination } from './types.js';
import { alertTrack, digestFit, incidentOf, incidentRef, renderAlert, renderDigest } from './render.js';
import { DeliverJob, FanoutJob, type AlertService } from './publish.js';
import { backlogAllowance, limitFor, type Pacer } from './pacing.js';
import { DRAINER_ACTIVE_MS, Outbox, type OutboxItem, type QueuedItem } from './outbox.js';
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
  /** Forum topic per kind, by destination key (TELEGRAM_ALERT_CHAT_ID's topics); see `topicRoutes`. */
  topics?: ReadonlyMap<string, Partial<Record<AlertKind, number>>>;
  log: Logger;
  now: () => number;
}

const FANOUT_WAIT_MS = 2_000;
const FANOUT_POLLS = 10;
const FANOUT_POLL_MS = 3;

/** A slot not used within this long (worker down, long lock wait) is given up and a fresh one reserved. */
const STALE_SLOT_MS = 5_000;
/** Waking up this close to the slot counts as on time. */
const EARLY_MS = 3;
/** Sends one drainer run may make back to back before it lets other jobs run. */
const SENDS_PER_RUN = 50;
/** A spare drainer looks this long after a fan-out found the drainer sending (see Outbox.adopt). */
const SPARE_AFTER_MS = DRAINER_ACTIVE_MS + 1_000;
/** How far into a long queue a digest looks: more than one digest message holds (see digestFit). */
const DIGEST_PEEK = 80;
/** Delivery holds its place in the chat's budget before it sends (see Pacer.admitSend). */
const ADMITTED = { admitted: true } as const;

/**
 * The notify queue's processor, run only where the transports live. `fanout` picks the destinations that want an
 * alert, queues it in each one's outbox and starts a drainer for any destination that has none; `deliver` is that
 * drainer: it waits for the destination's pacing slot, sends the head of the outbox (or edits the incident's earlier
 * message there), and parks itself until the next slot while anything is queued. When the queue would take longer
 * than the chat's digest threshold to send, the routine alerts in it go out as one digest message. A 429 re-parks
 * the drainer for `retry_after` (the message is never dropped); a permanent refusal (blocked bot) unsubscribes the
 * chat and ends it.
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
    return (await this.routes(alert, exclude)).map((r) => r.dest);
  }

  /**
   * The destinations that want this alert, each with how it reaches them: `silent` (no sound or push) and the forum
   * topic to post in.
   */
  async routes(alert: Alert, exclude: string[] = []): Promise<Route[]> {
    if (alert.to) return this.#target(alert, alert.to, exclude);
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
    let out = [...byKey.values()].flatMap((x) => {
      if (exclude.includes(destKey(x.dest))) return [];
      const how = deliveryOf(x.prefs, alert);
      return how ? [this.#route(x.dest, alert.kind, how)] : [];
    });
    if (alert.editOnly) {
      const refs = await this.d.messageRefs.get(alertTrack(incidentRef(incidentOf(alert))));
      const have = new Set(refs.map((r) => `${r.platform}:${r.chatId}`));
      out = out.filter((r) => have.has(destKey(r.dest)));
    }
    return out;
  }

  /**
   * An alert for one chat only (its own `/alert` rule): no subscription filter (symbols, severity, venues) applies,
   * only the chat's mode for the kind, so `rule=silent` quiets its own rules and `rule=off` stops them.
   */
  async #target(alert: Alert, to: Destination, exclude: string[]): Promise<Route[]> {
    if (!this.d.notifiers.get(to.platform) || exclude.includes(destKey(to))) return [];
    if (alert.editOnly) {
      const refs = await this.d.messageRefs.get(alertTrack(incidentRef(incidentOf(alert))));
      if (!refs.some((r) => r.platform === to.platform && r.chatId === to.chatId)) return [];
    }
    const how = deliveryOf({ ...(await this.d.subscriptions.prefsOf(to)), symbols: null, minSeverity: 'info', venues: null }, alert);
    return how ? [this.#route(to, alert.kind, how)] : [];
  }

  /**
   * Fan-outs run in publish order (each waits briefly for its predecessor), so every outbox fills in publish order
   * even when fan-outs run concurrently; the outbox then sends urgent alerts first.
   */
  async #fanout(job: Job, data: FanoutJob, token?: string): Promise<string> {
    if (data.seq !== undefined) {
      const now = this.d.now();
      const since = data.waitSince ?? now;
      // The predecessor's fan-out is still queued or running: wait a moment so outboxes fill in publish order.
      // A predecessor that never comes (its enqueue failed) holds nobody up for long. It is usually running right
      // now beside this one, so look again a few times before going back to the queue (a round trip through
      // BullMQ's delayed set costs far more than a few milliseconds here, and a burst would make many).
      let behind = (await this.#outbox.fannedUpTo()) < data.seq - 1;
      for (let i = 0; behind && i < FANOUT_POLLS; i++) {
        await new Promise((r) => setTimeout(r, FANOUT_POLL_MS));
        behind = (await this.#outbox.fannedUpTo()) < data.seq - 1;
      }
      if (behind && now - since < FANOUT_WAIT_MS) {
        await job.updateData({ ...data, waitSince: since } satisfies FanoutJob);
        await job.moveToDelayed(now + 10, token);
        throw new DelayedError();
      }
    }
    const routes = await this.routes(data.alert, data.exclude);
    const dests = routes.map((r) => r.dest);
    if (dests.length) {
      const item = { alertId: data.alertId, alert: data.alert, seq: data.seq ?? data.alert.at };
      const drainerId = (dest: Destination) => `dlv-${jobSafe(destKey(dest))}-${data.alertId}`;
      const todo = [];
      // Copies that differ in how they are sent (silent, topic) are different outbox members; each destination gets
      // exactly one of them.
      const groups = new Map<string, { how: Omit<Route, 'dest'>; dests: Destination[] }>();
      for (const r of routes) {
        const k = `${r.silent}|${r.threadId ?? ''}`;
        const g = groups.get(k) ?? { how: { silent: r.silent, threadId: r.threadId }, dests: [] };
        g.dests.push(r.dest);
        groups.set(k, g);
      }
      for (const { how, dests: group } of groups.values()) {
        const copy: OutboxItem = { ...item, ...(how.silent ? { silent: true } : {}), ...(how.threadId === undefined ? {} : { threadId: how.threadId }) };
        todo.push(...(await this.#outbox.enqueue(group, copy, drainerId)));
      }
      // A drainer that is sending right now may die with its process: a spare looks again once its claim would have
      // lapsed, and takes over if it did (one spare per destination per interval).
      const bucket = Math.floor(this.d.now() / SPARE_AFTER_MS);
      if (todo.length) {
        await this.d.alerts.queue.addBulk(
          todo.map(({ dest, start }) => ({
            name: 'deliver',
            data: { alertId: data.alertId, dest } satisfies DeliverJob,
            opts: start ? { jobId: start } : { jobId: `dlv-spare-${jobSafe(destKey(dest))}-${bucket}`, delay: SPARE_AFTER_MS },
          })),
        );
      }
    }
    if (data.seq !== undefined) await this.#outbox.markFanned(data.seq);
    return `fanned out to ${dests.length}`;
  }

  /** The destination's drainer: sends while slots are due, then parks until the next one or ends when empty. */
  async #deliver(job: Job, input: DeliverJob, token?: string): Promise<string> {
    let data = input;
    const { dest } = data;
    const me = job.id ?? 'x';
    const notifier = this.d.notifiers.get(dest.platform);
    // Retried with backoff: the transport may still be connecting.
    if (!notifier) throw new Error(`no ${dest.platform} transport in this process`);
    let sent = 0;
    for (let round = 0; round < SENDS_PER_RUN; round++) {
      if (!(await this.#outbox.adopt(dest, me))) {
        // Another drainer is responsible (this is a spare, or this one was presumed dead): what it still holds goes
        // back to the outbox for that one to send.
        const held = await this.#outbox.inflight(dest, me);
        if (held) await this.#outbox.putBack(dest, held, me);
        return `sent ${sent}; another drainer is responsible`;
      }
      if ((await this.#outbox.inflight(dest, me)) === null && (await this.#outbox.finish(dest, me))) return `sent ${sent}; outbox empty`;
      const now = this.d.now();
      // A slot held too long (the worker was down) is no promise any more: take a fresh one.
      const held = data.held === true && data.slotAt !== undefined && now - data.slotAt <= STALE_SLOT_MS;
      if (held && now < data.slotAt! - EARLY_MS) return this.#park(job, data, data.slotAt!, token, 'held');
      if (!held) {
        const slot = await this.d.pacer.reserve(dest, now);
        if (slot > now + EARLY_MS) {
          alertsDeferredTotal.inc({ platform: dest.platform, reason: 'paced' });
          return this.#park(job, data, slot, token, 'slot');
        }
      }
      if (!(await this.#outbox.lock(dest, me))) return this.#park(job, { ...data, slotAt: now, held: true }, now + 25, token, 'held');
      try {
        // Admitted before taking a message: a drainer that has to wait holds none.
        const { wait, ticket } = await this.d.pacer.admitSend(dest);
        if (wait > 0) {
          alertsDeferredTotal.inc({ platform: dest.platform, reason: 'paced' });
          return await this.#park(job, { ...data, slotAt: now, held: true }, this.d.now() + wait, token, 'held');
        }
        try {
          const batch = await this.#claim(dest, me);
          if (!batch) continue;
          await this.#send(job, data, batch, token);
          await this.#outbox.done(dest, me);
          sent += 1;
        } finally {
          await this.d.pacer.finished(dest, ticket).catch(() => undefined);
        }
      } finally {
        await this.#outbox.unlock(dest, me).catch(() => undefined);
      }
      data = { ...data, slotAt: undefined, held: false };
    }
    // A long queue to an unlimited chat (the console): give other jobs a turn, then carry on.
    return this.#park(job, data, this.d.now(), token, 'slot');
  }

  /**
   * The next batch to send: the batch this drainer already holds (a retry), else the head of the outbox — or, when
   * the queue would take longer than the chat's digest threshold and the head is routine, every routine alert up to
   * the first that cannot be merged (buttons, edits), as one digest.
   */
  async #claim(dest: Destination, me: string): Promise<QueuedItem[] | null> {
    const held = await this.#outbox.inflight(dest, me);
    if (held) return held;
    const allowance = backlogAllowance(limitFor(dest, this.d.pacer.limits));
    const { head, total } = await this.#outbox.peek(dest, 1);
    if (!head.length) return null;
    let batch = head;
    if (total > allowance && (await this.#digestible(dest, head[0]!.item.alert))) {
      // Only as many as one digest message can hold are read: a long queue is sent as several digests.
      const run: QueuedItem[] = [];
      const thread = head[0]!.item.threadId;
      for (const q of (await this.#outbox.peek(dest, DIGEST_PEEK)).head) {
        if (!(await this.#digestible(dest, q.item.alert))) break;
        // A digest is one message in one forum topic: alerts for another topic wait for their own digest (order
        // only matters within a topic, where each reader sees it).
        if (q.item.threadId !== thread) continue;
        run.push(q);
      }
      if (run.length > 1) batch = run.slice(0, digestFit(run.map((q) => q.item.alert)));
    }
    return this.#outbox.take(dest, me, batch);
  }

  /** Routine news that posts a new message: no buttons to keep, no earlier message of its incident to edit. */
  async #digestible(dest: Destination, a: Alert): Promise<boolean> {
    if (isUrgent(a) || a.editOnly || a.buttons?.length || a.image) return false;
    if (!a.incident) return true;
    const refs = await this.d.messageRefs.get(alertTrack(incidentRef(incidentOf(a))));
    return !refs.some((r) => r.platform === dest.platform && r.chatId === dest.chatId);
  }

  async #send(job: Job, data: DeliverJob, batch: QueuedItem[], token?: string): Promise<string> {
    const { dest } = data;
    const me = job.id ?? 'x';
    try {
      return batch.length === 1 ? await this.#sendOne(dest, batch[0]!.item) : await this.#sendDigest(dest, batch);
    } catch (e) {
      if (e instanceof DeliveryError && e.retryAfterMs !== undefined && !e.permanent) {
        const until = this.d.now() + e.retryAfterMs;
        await this.d.pacer.block(dest, until);
        // Back where it was: whichever send comes first after the wait takes it, in order.
        await this.#outbox.putBack(dest, batch, me);
        const slot = await this.d.pacer.reserve(dest, this.d.now());
        this.d.log.warn({ dest: destKey(dest), retryAfterMs: e.retryAfterMs, jobId: job.id }, 'rate limited by chat platform; delivery re-delayed');
        alertsDeferredTotal.inc({ platform: dest.platform, reason: 'rate_limited' });
        return this.#park(job, data, Math.max(slot, until), token, 'slot');
      }
      if (e instanceof DeliveryError && e.permanent) {
        const was = await this.d.subscriptions.unsubscribe(dest);
        await this.#outbox.drop(dest, me);
        this.d.log.warn({ dest: destKey(dest), unsubscribed: was, kinds: batch.map((b) => b.item.alert.kind) }, 'chat refuses alerts; delivery dropped');
        alertsDroppedTotal.inc({ platform: dest.platform }, batch.length);
        throw new UnrecoverableError(`chat ${destKey(dest)} refuses messages: ${e.message}`);
      }
      throw e;
    }
  }

  /** How the alert reaches this destination; the topic is the team chat's topic for the kind, or the chat's own. */
  #route(dest: Destination, kind: AlertKind, how: 'on' | 'silent'): Route {
    const topics = this.d.topics?.get(destKey(dest));
    const threadId = topics ? topics[kind] : dest.threadId;
    return { dest, silent: how === 'silent', ...(threadId === undefined ? {} : { threadId }) };
  }

  async #sendOne(dest: Destination, item: OutboxItem): Promise<string> {
    const { alert } = item;
    const ref = incidentRef(incidentOf(alert));
    const notifier = this.d.notifiers.get(dest.platform)!;
    const verKey = key(this.d.store, 'alerts', 'ver', ref, destKey(dest));
    const shown = Number((await this.d.store.redis.get(verKey)) ?? '-1');
    // A follow-up already on screen is newer than this one: showing this would go backwards.
    if (alert.at < shown) return 'stale';
    const reply = renderAlert(alert, await this.d.alerts.ackOf(ref));
    if (alert.image) {
      // Gone (past its TTL): the alert still goes out, without the picture.
      const data = await this.d.store.redis.getBuffer(alert.image.key);
      if (data) reply.image = { filename: alert.image.filename, data, ...(alert.image.alt ? { alt: alert.image.alt } : {}) };
    }
    const track = alertTrack(ref);
    const existing = (await this.d.messageRefs.get(track)).find((r) => r.platform === dest.platform && r.chatId === dest.chatId);
    if (existing) {
      try {
        await notifier.edit(existing, reply, ADMITTED);
        await this.#shown(verKey, alert);
        alertsDeliveredTotal.inc({ platform: dest.platform, how: 'edited' });
        return 'edited';
      } catch (e) {
        // The original is gone (deleted, too old to edit): post the follow-up as a new message instead.
        if (!(e instanceof DeliveryError && e.permanent)) throw e;
        if (alert.editOnly) return 'original gone';
      }
    } else if (alert.editOnly) {
      return 'nothing to edit';
    }
    const sent = await notifier.send(dest.chatId, reply, { ...ADMITTED, ...how(item.silent === true, item.threadId) });
    await this.d.messageRefs.add(track, toStored(sent));
    if (alert.track) await this.d.messageRefs.add(alert.track, toStored(sent));
    await this.#shown(verKey, alert);
    alertsDeliveredTotal.inc({ platform: dest.platform, how: 'sent' });
    return 'sent';
  }

  async #sendDigest(dest: Destination, batch: QueuedItem[]): Promise<string> {
    const alerts = batch.map((b) => b.item.alert);
    // The digest rings when any alert in it would have rung on its own; its alerts share one topic (see #claim).
    const opts = how(batch.every((b) => b.item.silent === true), batch[0]!.item.threadId);
    await this.d.notifiers.get(dest.platform)!.send(dest.chatId, renderDigest(alerts), { ...ADMITTED, ...opts });
    for (const a of alerts) await this.#shown(key(this.d.store, 'alerts', 'ver', incidentRef(incidentOf(a)), destKey(dest)), a);
    this.d.log.info({ dest: destKey(dest), alerts: alerts.length }, 'alert digest sent');
    alertsDeliveredTotal.inc({ platform: dest.platform, how: 'digest' });
    alertsCoalescedTotal.inc({ platform: dest.platform }, alerts.length);
    return `digest of ${alerts.length}`;
  }

  async #shown(verKey: string, alert: Alert): Promise<void> {
    await this.d.store.redis.set(verKey, String(alert.at), 'EX', 7 * 86_400);
  }

  /**
   * Parks the drainer until `until`: `slot` — that time is a freshly reserved slot; `held` — it keeps the slot it
   * holds (waiting for the chat's lock or window). It stays the destination's drainer while parked.
   */
  async #park(job: Job, data: DeliverJob, until: number, token: string | undefined, mode: 'slot' | 'held'): Promise<never> {
    const next: DeliverJob = { ...data, slotAt: mode === 'slot' ? until : data.slotAt, held: true };
    await this.#outbox.park(data.dest, job.id ?? 'x', until - this.d.now());
    await job.updateData(next);
    await job.moveToDelayed(until, token);
    throw new DelayedError();
  }
}

/** How one copy of an alert reaches its destination. */
export interface Route {
  dest: Destination;
  silent: boolean;
  /** Telegram forum topic (message_thread_id); absent = the chat itself. */
  threadId?: number;
}

function how(silent: boolean, threadId: number | undefined): { silent?: true; threadId?: number } {
  return { ...(silent ? { silent: true as const } : {}), ...(threadId === undefined ? {} : { threadId }) };
}

function toStored(r: StoredMessageRef): StoredMessageRef {
  return { platform: r.platform, chatId: r.chatId, messageId: r.messageId };
}

/** BullMQ job ids must not contain `:`. */
function jobSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Forum topics of the team destinations, by destination key (see DeliveryDeps.topics). */
export function topicRoutes(c: { TELEGRAM_BOT_TOKEN?: unknown; TELEGRAM_ALERT_CHAT_ID?: string; telegramAlertTopics?: Partial<Record<AlertKind, number>> }): Map<string, Partial<Record<AlertKind, number>>> {
  const out = new Map<string, Partial<Record<AlertKind, number>>>();
  if (c.TELEGRAM_BOT_TOKEN && c.TELEGRAM_ALERT_CHAT_ID && c.telegramAlertTopics && Object.keys(c.telegramAlertTopics).length) {
    out.set(destKey({ platform: 'telegram', chatId: c.TELEGRAM_ALERT_CHAT_ID }), c.telegramAlertTopics);
  }
  return out;
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
