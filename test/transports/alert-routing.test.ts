/**
 * Who hears what (issue 18 §3), through the whole app and the real telegraf and discord.js clients against the
 * stand-ins: per-kind modes reach the wire as Telegram `disable_notification` and Discord's SuppressNotifications
 * flag, forum topics as `message_thread_id`, `/subscribe` sets and shows them (bad input changes nothing), the venue
 * filter keeps other venues' alerts away, and a subscription stored before modes existed keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn } from '../fakes/discord/index.js';
import { startTelegramStandIn, TELEGRAM_LIMITS, type ApiCall, type RateLimits, type TelegramStandIn } from '../fakes/telegram/index.js';
import { telegramEnv } from '../support/telegram.js';
import { eventually } from '../jobs/support/harness.js';
import { closeRedis, createRedis } from '../../src/queues/redis.js';
import { redisUrl, removeAppData, testPrefix } from '../support/redis.js';
import { TEAM_ENV } from '../support/desk.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { PLATFORM_LIMITS } from '../../src/services/alerts/pacing.js';
import { ALERT_KINDS, type AlertInput } from '../../src/services/alerts/types.js';

const GUILD = '1100000000000000001';
const ALERT_CHANNEL = '1100000000000000021';
const FORUM = -1_001_000_000_777;
/** A team forum that is not the alert chat: it subscribes from inside a topic. */
const DESK_FORUM = -1_001_000_000_888;
const MEMBER = 8101;
const PRIVATE = 8102;
const OLD_SUBSCRIBER = 8103;
const DISCORD_USER = '3300000000000000001';
const SUPPRESS_NOTIFICATIONS = 1 << 12;

/**
 * A Telegram group may take 20 messages a minute and this file sends the forum more than that: group windows run
 * GROUP_SPEED times faster on both sides (the stand-in and PerpDesk's pacer), as in telegram-alerts.test.ts.
 */
const GROUP_SPEED = 8;

function standInLimits(): RateLimits {
  const g = TELEGRAM_LIMITS.groupChat;
  return { ...TELEGRAM_LIMITS, groupChat: { max: g.max, windowMs: g.windowMs / GROUP_SPEED } };
}

function pacing(): typeof PLATFORM_LIMITS {
  const out = structuredClone(PLATFORM_LIMITS);
  out.telegramGroup.chat.windowMs /= GROUP_SPEED;
  return out;
}

type Embed = { title?: string; description?: string; fields?: { name: string; value: string }[] };

describe('alert routing: notification modes, forum topics and venue filters on the wire', () => {
  let discord: DiscordStandIn;
  let tg: TelegramStandIn;
  let t: { app: App; prefix: string };
  let topic: { cascade: number; risk: number; fills: number };

  beforeAll(async () => {
    discord = await startDiscordStandIn({ guilds: [{ id: GUILD, channels: [{ id: ALERT_CHANNEL }] }] });
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot', limits: standInLimits() });
    const [cascade, risk, fills] = tg.makeForum(FORUM, ['Cascades', 'Risk', 'Fills']);
    topic = { cascade: cascade!, risk: risk!, fills: fills! };
    const prefix = testPrefix();
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    const env = {
      ...TEAM_ENV,
      HTTP_PORT: '0',
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.url,
      DISCORD_GUILD_ID: GUILD,
      DISCORD_ALERT_CHANNEL_ID: ALERT_CHANNEL,
      ...telegramEnv(tg),
      TELEGRAM_ALERT_CHAT_ID: `${FORUM}:cascade=${topic.cascade},risk=${topic.risk},order=${topic.fills}`,
      PERPDESK_VIEWERS: `telegram:${PRIVATE},telegram:${OLD_SUBSCRIBER}`,
      PERPDESK_CHATS: `${TEAM_ENV.PERPDESK_CHATS},telegram:${DESK_FORUM}`,
    };
    const app = await startApp({
      config: loadConfig(env), log: silentLogger, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0, background: { schedule: false, limits: pacing() },
    });
    t = { app, prefix };
  });

  afterAll(async () => {
    await t?.app.close(); // closes the exchange too
    if (t) await removeAppData(t.prefix);
    await tg?.close();
    await discord?.close();
  });

  const idle = async () => {
    const c = await t.app.ctx.alerts.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) === 0;
  };
  const drained = () => eventually(idle, 15_000, 'notify queue drained');

  let n = 0;
  async function publish(extra: Partial<AlertInput> & Pick<AlertInput, 'kind' | 'title'>): Promise<string> {
    n += 1;
    await t.app.ctx.alerts.publish({ key: `routing-${n}`, severity: 'warning', symbol: 'BTC-PERP', text: 'numbers behind it', ...extra });
    return extra.title;
  }

  /** The sendMessage request that posted this title to the chat (the recorded wire parameters). */
  const sendCall = (chatId: number, title: string): ApiCall | undefined =>
    tg.calls('sendMessage').find((c) => String(c.params.chat_id) === String(chatId) && String(c.params.text).includes(title) && c.status === 200);
  const waitSend = (chatId: number, title: string) => eventually(() => sendCall(chatId, title), 15_000, `sendMessage of "${title}" to ${chatId}`);
  const discordPost = (title: string) =>
    discord.channelMessages(ALERT_CHANNEL).find((m) => (m.embeds as Embed[]).some((e) => (e.title ?? '').includes(title)));
  const waitDiscord = (title: string) => eventually(() => discordPost(title), 15_000, `discord post of "${title}"`);

  /** A member writes in the forum (General topic unless `threadId`); resolves with the bot's answer. */
  async function inForum(text: string, threadId?: number) {
    const before = tg.messages(FORUM).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId: FORUM, fromId: MEMBER, text, ...(threadId === undefined ? {} : { threadId }) });
    return tg.waitForMessage(FORUM, (m) => m.messageId > before && !/numbers behind it/.test(m.text ?? ''), 10_000);
  }
  async function inPrivate(chatId: number, text: string) {
    const before = tg.messages(chatId).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId, text });
    return (await tg.waitForMessage(chatId, (m) => m.messageId > before && !/numbers behind it/.test(m.text ?? ''), 10_000)).text ?? '';
  }

  it('posts each kind to its forum topic and rings or stays silent by the defaults, on Telegram and Discord', async () => {
    const cascade = await publish({ kind: 'cascade', title: 'Cascade BTC-PERP defaults' });
    const risk = await publish({ kind: 'leverage', title: 'Account leverage defaults' });
    const fill = await publish({ kind: 'order', severity: 'info', title: 'Order filled defaults' });
    const beat = await publish({ kind: 'heartbeat', symbol: undefined, title: 'Worker silent defaults' });

    const [c, r, f, b] = await Promise.all([cascade, risk, fill, beat].map((title) => waitSend(FORUM, title)));
    expect(c!.params.message_thread_id).toBe(topic.cascade);
    expect(r!.params.message_thread_id).toBe(topic.risk); // `risk` names leverage too
    expect(f!.params.message_thread_id).toBe(topic.fills);
    expect(b!.params).not.toHaveProperty('message_thread_id'); // no topic for heartbeat: the General topic
    expect(c!.params).not.toHaveProperty('disable_notification');
    expect(r!.params).not.toHaveProperty('disable_notification');
    expect(f!.params.disable_notification).toBe(true); // fills are silent by default
    expect(b!.params).not.toHaveProperty('disable_notification');
    const stored = (title: string) => tg.messages(FORUM).find((m) => (m.text ?? '').includes(title))!;
    expect(stored(fill)).toMatchObject({ messageThreadId: topic.fills, disableNotification: true });
    expect(stored(cascade)).toMatchObject({ messageThreadId: topic.cascade, disableNotification: false });

    const [dc, df] = await Promise.all([waitDiscord(cascade), waitDiscord(fill)]);
    expect(dc!.flags & SUPPRESS_NOTIFICATIONS).toBe(0);
    expect(df!.flags & SUPPRESS_NOTIFICATIONS).toBe(SUPPRESS_NOTIFICATIONS);
    await drained();
  });

  it('rings a critical alert even where its kind is silent', async () => {
    const title = await publish({ kind: 'harvester', severity: 'critical', title: 'Hedge broken ETH-PERP' });
    const call = await waitSend(FORUM, title);
    expect(call.params).not.toHaveProperty('disable_notification');
    expect((await waitDiscord(title)).flags & SUPPRESS_NOTIFICATIONS).toBe(0);
    await drained();
  });

  it('edits a follow-up of an incident in place, inside its topic', async () => {
    await publish({ kind: 'cascade', incident: 'routing-cascade-eth', title: 'Cascade ETH-PERP started' });
    const first = await tg.waitForMessage(FORUM, (m) => /Cascade ETH-PERP started/.test(m.text ?? ''), 15_000);
    await drained();
    await publish({ kind: 'cascade', incident: 'routing-cascade-eth', severity: 'critical', title: 'Cascade ETH-PERP escalated' });
    const edited = await tg.waitForMessage(FORUM, (m) => m.messageId === first.messageId && /escalated/.test(m.text ?? ''), 15_000);
    await drained();
    expect(edited.messageThreadId).toBe(topic.cascade);
    expect(tg.messages(FORUM).filter((m) => /Cascade ETH-PERP/.test(m.text ?? ''))).toHaveLength(1);
    expect(tg.calls('editMessageText').some((c) => String(c.params.text).includes('escalated') && c.status === 200)).toBe(true);
  });

  it('posts in the General topic when the kind\'s topic was closed, rather than hold the forum\'s alerts back', async () => {
    tg.closeTopic(FORUM, topic.cascade);
    try {
      const title = await publish({ kind: 'cascade', title: 'Cascade DOGE-PERP while closed' });
      const posted = await tg.waitForMessage(FORUM, (m) => (m.text ?? '').includes(title), 15_000);
      await drained();
      expect(posted.messageThreadId).toBeUndefined();
      const tries = tg.calls('sendMessage').filter((c) => String(c.params.text).includes(title));
      expect(tries.map((c) => [c.status, c.params.message_thread_id, c.description])).toEqual([
        [400, topic.cascade, 'Bad Request: TOPIC_CLOSED'],
        [200, undefined, undefined],
      ]);
    } finally {
      tg.closeTopic(FORUM, topic.cascade, false);
    }
  });

  it('sets modes with /subscribe in the team forum, answers in the topic it was asked in, and shows every kind', async () => {
    const set = await inForum('/subscribe notify:order=on,cascade=silent,harvester=off', topic.risk);
    expect(set.messageThreadId).toBe(topic.risk); // the answer replies in the topic the command came from
    expect(set.text).toMatch(/order\*/);

    const fill = await publish({ kind: 'order', severity: 'info', title: 'Order filled after subscribe' });
    const cascade = await publish({ kind: 'cascade', title: 'Cascade SOL-PERP after subscribe' });
    const harvest = await publish({ kind: 'harvester', severity: 'info', title: 'Harvester entry after subscribe' });
    const f = await waitSend(FORUM, fill);
    const c = await waitSend(FORUM, cascade);
    await drained();
    expect(f.params).not.toHaveProperty('disable_notification');
    expect(f.params.message_thread_id).toBe(topic.fills);
    expect(c.params.disable_notification).toBe(true);
    expect(c.params.message_thread_id).toBe(topic.cascade);
    expect(sendCall(FORUM, harvest)).toBeUndefined();
    // The Discord channel keeps its own settings.
    expect((await waitDiscord(harvest)).flags & SUPPRESS_NOTIFICATIONS).toBe(SUPPRESS_NOTIFICATIONS);

    const shown = (await inForum('/subscribe')).text ?? '';
    for (const kind of ALERT_KINDS) expect(shown).toContain(kind);
    expect(shown).toMatch(/Silent[\s\S]*cascade\*/);
    expect(shown).toMatch(/Off[\s\S]*harvester\*/);
  });

  it('answers bad /subscribe input clearly on Telegram and changes nothing', async () => {
    const dest = { platform: 'telegram' as const, chatId: String(FORUM) };
    const before = await t.app.ctx.subscriptions.get(dest);
    expect(before).not.toBeNull();
    const cases: [string, RegExp][] = [
      ['/subscribe notify:order=loud', /"loud" is not a mode; use on, silent or off/],
      ['/subscribe notify:fills=on', /unknown alert kind "fills"; use cascade/],
      ['/subscribe notify:trading=off', /trading \(paused \/ resumed\) always rings/],
      ['/subscribe notify:order', /"order" is not kind=value/],
      ['/subscribe venues:kraken', /unknown venue "kraken"; use desk \(paper/],
      // A valid part does not sneak through beside a bad one.
      ['/subscribe min_severity:critical notify:order=off,risk=sometimes', /"sometimes" is not a mode/],
    ];
    for (const [text, answer] of cases) expect((await inForum(text)).text).toMatch(answer);
    expect(await t.app.ctx.subscriptions.get(dest)).toEqual(before);
  });

  it('sets and shows modes with the Discord slash command in the alert channel; a bad value changes nothing', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'subscribe', userId: DISCORD_USER, channelId: ALERT_CHANNEL, options: { notify: 'order=on harvester=off' } });
    const answer = (await ix.final()).embeds as Embed[];
    expect(JSON.stringify(answer)).toContain('order*');
    const dest = { platform: 'discord' as const, chatId: ALERT_CHANNEL };
    const before = await t.app.ctx.subscriptions.get(dest);
    expect(before?.prefs.modes).toEqual({ order: 'on', harvester: 'off' });

    const fill = await publish({ kind: 'order', severity: 'info', title: 'Order filled on discord' });
    const harvest = await publish({ kind: 'harvester', severity: 'info', title: 'Harvester exit on discord' });
    expect((await waitDiscord(fill)).flags & SUPPRESS_NOTIFICATIONS).toBe(0);
    await waitSend(FORUM, fill);
    await drained();
    expect(discordPost(harvest)).toBeUndefined();

    const bad = discord.dispatchSlashCommand({ name: 'subscribe', userId: DISCORD_USER, channelId: ALERT_CHANNEL, options: { notify: 'risk=quiet' } });
    const refused = await bad.final();
    expect((refused.embeds as Embed[])[0]?.description ?? refused.content).toMatch(/"quiet" is not a mode/);
    expect(await t.app.ctx.subscriptions.get(dest)).toEqual(before);
  });

  it('keeps alerts about other venues away from a chat that chose venues, and lets alerts about no market through', async () => {
    expect(await inPrivate(PRIVATE, '/subscribe venues:desk')).toMatch(/Venues[\s\S]*desk \(paper\)/);
    // Typed without the option name, kind=mode pairs are read as notify.
    expect(await inPrivate(PRIVATE, '/subscribe order=on,risk=silent')).toMatch(/On[\s\S]*order\*/);
    expect((await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(PRIVATE) }))?.prefs).toMatchObject({
      venues: ['desk'], modes: { order: 'on', liquidation_risk: 'silent', leverage: 'silent', funding_against: 'silent' },
    });
    const bybit = await publish({ kind: 'liquidation_risk', venue: 'bybit', title: 'Funding spike on bybit' });
    const desk = await publish({ kind: 'cascade', title: 'Cascade on the desk' });
    const beat = await publish({ kind: 'heartbeat', symbol: undefined, title: 'Scheduler silent venue test' });
    await waitSend(PRIVATE, desk);
    await waitSend(PRIVATE, beat);
    await waitSend(FORUM, bybit); // the team chat takes every venue
    await drained();
    expect(sendCall(PRIVATE, bybit)).toBeUndefined();

    expect(await inPrivate(PRIVATE, '/subscribe venues:all')).toMatch(/Venues[\s\S]*all/);
    const again = await publish({ kind: 'liquidation_risk', venue: 'bybit', title: 'Bybit again after all' });
    await waitSend(PRIVATE, again);
  });

  it("keeps a chat's own rule firings to that chat, silent when its rule mode is silent, whatever its filters", async () => {
    expect(await inPrivate(PRIVATE, '/subscribe notify:rule=silent min_severity:critical venues:desk')).toMatch(/Silent[\s\S]*rule\*/);
    const to = { platform: 'telegram' as const, chatId: String(PRIVATE), chatType: 'private' as const };
    const title = await publish({ kind: 'rule', venue: 'bybit', severity: 'info', title: 'Rule r1 crossed', to });
    const call = await waitSend(PRIVATE, title);
    await drained();
    expect(call.params.disable_notification).toBe(true);
    expect(sendCall(FORUM, title)).toBeUndefined();
    expect(discordPost(title)).toBeUndefined();
    expect(await inPrivate(PRIVATE, '/subscribe notify:rule=on min_severity:info venues:all')).toMatch(/On[\s\S]*rule/);
  });

  it('sends a chat\'s alerts to the forum topic it subscribed from, and back to the General topic when asked there', async () => {
    const [alerts] = tg.makeForum(DESK_FORUM, ['Desk alerts']) as [number];
    const ask = async (text: string, threadId?: number) => {
      const before = tg.messages(DESK_FORUM).at(-1)?.messageId ?? 0;
      tg.sendText({ chatId: DESK_FORUM, fromId: MEMBER, text, ...(threadId === undefined ? {} : { threadId }) });
      return tg.waitForMessage(DESK_FORUM, (m) => m.messageId > before && !/numbers behind it/.test(m.text ?? ''), 10_000);
    };
    expect((await ask('/subscribe', alerts)).text).toContain('Alerts come to this topic');
    const inTopic = await publish({ kind: 'cascade', title: 'Cascade ADA-PERP for the desk topic' });
    const fill = await publish({ kind: 'order', severity: 'info', title: 'Order filled for the desk topic' });
    const [c, f] = [await waitSend(DESK_FORUM, inTopic), await waitSend(DESK_FORUM, fill)];
    expect(c.params.message_thread_id).toBe(alerts);
    expect(f.params).toMatchObject({ message_thread_id: alerts, disable_notification: true });

    expect((await ask('/subscribe')).text).toContain("its General topic");
    const general = await publish({ kind: 'cascade', title: 'Cascade ADA-PERP for General' });
    expect((await waitSend(DESK_FORUM, general)).params).not.toHaveProperty('message_thread_id');
    await drained();
  });

  it('reads a subscription stored before per-kind modes: its signals stay on, every other kind at its default', async () => {
    const redis = createRedis(redisUrl());
    try {
      const old = {
        dest: { platform: 'telegram', chatId: String(OLD_SUBSCRIBER), chatType: 'private' },
        prefs: { symbols: null, minSeverity: 'info', signals: ['basis'] },
        since: 1,
        by: 'someone last year',
      };
      await redis.hset(`${t.prefix}:alerts:subs`, `telegram:${OLD_SUBSCRIBER}`, JSON.stringify(old));
    } finally {
      await closeRedis(redis);
    }
    tg.sendText({ chatId: OLD_SUBSCRIBER, text: 'hello' }); // Telegram knows the chat once its user wrote

    const basis = await publish({ kind: 'basis', severity: 'info', title: 'Basis signal for the old record' });
    const oi = await publish({ kind: 'oi', severity: 'info', title: 'OI signal for the old record' });
    const fill = await publish({ kind: 'order', severity: 'info', title: 'Order filled for the old record' });
    const b = await waitSend(OLD_SUBSCRIBER, basis);
    const f = await waitSend(OLD_SUBSCRIBER, fill);
    await drained();
    expect(b.params).not.toHaveProperty('disable_notification');
    expect(f.params.disable_notification).toBe(true);
    expect(sendCall(OLD_SUBSCRIBER, oi)).toBeUndefined();

    const shown = await inPrivate(OLD_SUBSCRIBER, '/subscribe');
    expect(shown).toMatch(/On[\s\S]*basis\*/);
    expect(shown).toMatch(/Off[\s\S]*\boi\b/);
    const sub = await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(OLD_SUBSCRIBER) });
    expect(sub?.prefs).toEqual({ symbols: null, minSeverity: 'info', modes: { basis: 'on' }, venues: null });
  });
});
