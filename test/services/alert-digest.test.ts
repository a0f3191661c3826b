import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaledLimits, startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { TelegramTransport } from '../../src/transports/telegram.js';
import { silentLogger } from '../../src/log.js';
import type { Desk } from '../../src/transports/desk.js';
import { commands } from '../../commands/registry.js';
import { Pacer, scaleLimits } from '../../src/services/alerts/pacing.js';
import type { AlertInput } from '../../src/services/alerts/types.js';
import { drained, jobsHarness, type JobsHarness } from '../jobs/support/harness.js';
import { alertsCoalescedTotal, alertsDeferredTotal, alertsDeliveredTotal } from '../../src/metrics/registry.js';
import { metricValue } from '../http/metrics-support.js';

/**
 * Issue 14 item 1, backlog digest: a group chat that is at its limit while routine alerts pile up gets them as one
 * digest once it has room, after the urgent ones, instead of a queue that takes minutes. Every Telegram window runs
 * SPEED times faster on both sides (stand-in and pacer, digest threshold included).
 */
const SPEED = 10;
const GROUP = -1005550001;

const idleDesk: Desk = { commands, command: async () => ({}), button: async () => ({}), suggestSymbols: async () => [], messageSent: async () => {} };


const routine = (i: number): AlertInput => ({ key: `reminder-${i}`, kind: 'funding_reminder', severity: 'info', symbol: 'BTC-PERP', title: `Funding soon #${i}`, text: `BTC-PERP funding in 10 min (#${i})` });
const critical = (i: number): AlertInput => ({ key: `cascade-${i}`, kind: 'cascade', severity: 'critical', symbol: 'ETH-PERP', title: `Cascade ETH-PERP #${i}`, text: 'OI -6% in 2 min' });

describe('backlog digest for a Telegram group at its limit (real telegraf, notify worker, Redis pacer)', () => {
  let tg: TelegramStandIn;
  let h: JobsHarness;
  let telegram: TelegramTransport;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ limits: scaledLimits(SPEED), limitEdits: true });
    const limits = scaleLimits(SPEED);
    h = await jobsHarness({ env: { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_ALERT_CHAT_ID: String(GROUP) }, limits });
    telegram = new TelegramTransport({ desk: idleDesk, token: tg.token, apiRoot: tg.apiRoot, log: silentLogger, pacer: new Pacer(h.redis, h.prefix, limits) });
    h.notifiers.register(telegram);
  });
  afterAll(async () => {
    await h?.close();
    await telegram?.close();
    await tg?.close();
  });

  it('sends the urgent alerts first, then every routine alert in one digest, in order, with no 429', async () => {
    // The group's 20 messages of this window are used up (by command answers, say).
    for (let i = 0; i < 20; i++) await telegram.send(String(GROUP), { text: `filler ${i}` });
    const paced = await metricValue(alertsDeferredTotal, { platform: 'telegram', reason: 'paced' });
    const published: string[] = [];
    for (let i = 1; i <= 30; i++) {
      await h.ctx.alerts.publish(routine(i));
      published.push(`#${i}`);
      if (i % 10 === 0) await h.ctx.alerts.publish(critical(i / 10));
    }

    await drained(h, 20_000);
    const shown = tg.messages(GROUP).slice(20).map((m) => m.text ?? '');
    expect(tg.rateLimited()).toEqual([]);
    // Urgent first, in publish order; then one digest holding all 30 routine alerts, oldest first.
    expect(shown.slice(0, 3).map((t) => /Cascade ETH-PERP (#\d)/.exec(t)?.[1])).toEqual(['#1', '#2', '#3']);
    expect(shown).toHaveLength(4);
    expect(shown[3]).toContain('Digest: 30 alerts');
    expect([...shown[3]!.matchAll(/Funding soon (#\d+)/g)].map((m) => m[1])).toEqual(published);
    // Reminders are silent by default, so their digest is too; the critical cascades ring.
    expect(tg.messages(GROUP).slice(20).map((m) => m.disableNotification)).toEqual([false, false, false, true]);
    // /metrics: the waits for the group's budget, the 30 alerts merged, one digest and three alerts delivered.
    expect(await metricValue(alertsDeferredTotal, { platform: 'telegram', reason: 'paced' })).toBeGreaterThan(paced);
    expect(await metricValue(alertsCoalescedTotal, { platform: 'telegram' })).toBe(30);
    expect(await metricValue(alertsDeliveredTotal, { platform: 'telegram', how: 'digest' })).toBe(1);
    expect(await metricValue(alertsDeliveredTotal, { platform: 'telegram', how: 'sent' })).toBe(3);
  }, 30_000);

  it('sends a short backlog message by message', async () => {
    for (let i = 31; i <= 34; i++) await h.ctx.alerts.publish(routine(i));
    await drained(h, 20_000);
    const last = tg.messages(GROUP).slice(-4).map((m) => /Funding soon (#\d+)/.exec(m.text ?? '')?.[1]);
    expect(last).toEqual(['#31', '#32', '#33', '#34']);
    expect(tg.messages(GROUP).filter((m) => (m.text ?? '').includes('Digest'))).toHaveLength(1);
    expect(tg.rateLimited()).toEqual([]);
  }, 30_000);
});

describe('backlog digest in a Telegram forum with a topic per kind', () => {
  const FORUM = -1_005_550_000_002;
  let tg: TelegramStandIn;
  let h: JobsHarness;
  let telegram: TelegramTransport;
  let reminders: number;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ limits: scaledLimits(SPEED), limitEdits: true });
    [reminders] = tg.makeForum(FORUM, ['Reminders']) as [number];
    const limits = scaleLimits(SPEED);
    h = await jobsHarness({ env: { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_ALERT_CHAT_ID: `${FORUM}:funding_reminder=${reminders}` }, limits });
    telegram = new TelegramTransport({ desk: idleDesk, token: tg.token, apiRoot: tg.apiRoot, log: silentLogger, pacer: new Pacer(h.redis, h.prefix, limits) });
    h.notifiers.register(telegram);
  });
  afterAll(async () => {
    await h?.close();
    await telegram?.close();
    await tg?.close();
  });

  it('merges each topic\'s routine alerts into that topic\'s own digest, oldest first, however they interleave', async () => {
    for (let i = 0; i < 20; i++) await telegram.send(String(FORUM), { text: `filler ${i}` });
    const order = (i: number): AlertInput => ({ key: `order-${i}`, kind: 'order', severity: 'info', symbol: 'BTC-PERP', title: `Order filled #${i}`, text: `filled (#${i})` });
    for (let i = 1; i <= 24; i++) await h.ctx.alerts.publish(i % 2 ? routine(i) : order(i));

    await drained(h, 20_000);
    expect(tg.rateLimited()).toEqual([]);
    const sent = tg.messages(FORUM).slice(20);
    expect(sent).toHaveLength(2);
    const inTopic = sent.find((m) => m.messageThreadId === reminders)!;
    const general = sent.find((m) => m.messageThreadId === undefined)!;
    expect([...(inTopic.text ?? '').matchAll(/Funding soon #(\d+)/g)].map((m) => Number(m[1]))).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
    expect(inTopic.text).not.toContain('Order filled');
    expect([...(general.text ?? '').matchAll(/Order filled #(\d+)/g)].map((m) => Number(m[1]))).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
    expect(sent.every((m) => m.disableNotification)).toBe(true);
  }, 30_000);
});
