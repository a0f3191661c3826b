/**
 * Who can use the desk (issue 13), through the real telegraf and discord.js clients against the stand-ins: strangers
 * get one line saying the desk is private and no data, cannot subscribe, and are audited at most once a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startDiscordStandIn, type DiscordStandIn } from '../fakes/discord/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ask as askIn, telegramEnv } from '../support/telegram.js';

const PRIVATE = /^This PerpDesk is private to its team\. To use it, ask them to add (telegram|discord):\d+ to PERPDESK_VIEWERS\.$/;

describe('who can use the desk on Telegram', () => {
  const ALERT_CHAT = -100777;
  const UNKNOWN_GROUP = -100999;
  const STRANGER = 4004;
  const VIEWER = 5005;
  let tg: TelegramStandIn;
  let t: TestApp;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    t = await startTestApp({
      ...telegramEnv(tg),
      TELEGRAM_ALERT_CHAT_ID: String(ALERT_CHAT),
      PERPDESK_VIEWERS: `telegram:${VIEWER}`,
      PERPDESK_CHATS: '',
    });
    await t.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.1, leverage: 2, reduceOnly: false, clientOrderId: 'seed-1' });
  });

  afterAll(async () => {
    await t?.close();
    await tg?.close();
  });

  const ask = (chatId: number, text: string, fromId?: number) => askIn(tg, chatId, text, fromId);

  it('answers a stranger in a private chat with one line, no data, for every command including /help and /subscribe', async () => {
    for (const cmd of ['/positions', '/audit', '/help', '/start', '/subscribe', '/order BTC-PERP long 1000 2']) {
      const text = await ask(STRANGER, cmd);
      expect(text, cmd).toMatch(PRIVATE);
      expect(text).toContain(`telegram:${STRANGER}`);
    }
    expect(await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(STRANGER) })).toBeNull();
    // Plain text in a private chat gets the same line instead of a hint at the commands.
    expect(await ask(STRANGER, 'hello')).toMatch(PRIVATE);
  });

  it('answers a stranger in an unknown group with the same line and stores no subscription', async () => {
    expect(await ask(UNKNOWN_GROUP, '/positions', STRANGER)).toMatch(PRIVATE);
    expect(await ask(UNKNOWN_GROUP, '/subscribe', STRANGER)).toMatch(PRIVATE);
    expect(await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(UNKNOWN_GROUP) })).toBeNull();
  });

  it('audits a refused stranger once per minute, however often they try', async () => {
    const refused = (await t.app.ctx.audit.latest(100)).filter((e) => e.action === 'access.refused' && e.actor.includes(`telegram:${STRANGER}`));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ platform: 'telegram', subject: `telegram chat ${STRANGER} (private)`, detail: "/positions: not on the team's lists" });
  });

  it('gives a listed viewer data in a private chat, and lets them subscribe it', async () => {
    const positions = await ask(VIEWER, '/positions');
    expect(positions).toContain('Positions');
    expect(positions).toContain('BTC-PERP');
    expect(await ask(VIEWER, '/subscribe')).toContain('Subscribed to alerts');
    expect(await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(VIEWER) })).not.toBeNull();
  });

  it('lets anyone in the team alert chat read, without being listed', async () => {
    expect(await ask(ALERT_CHAT, '/funding btc', STRANGER)).toContain('Funding BTC-PERP');
  });

  it('does not let a listed viewer open an unknown group to alerts', async () => {
    const text = await ask(UNKNOWN_GROUP, '/subscribe', VIEWER);
    expect(text).toContain(`ask the team to add telegram:${UNKNOWN_GROUP} to PERPDESK_CHATS`);
    expect(await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(UNKNOWN_GROUP) })).toBeNull();
  });
});

describe('who can use the desk on Discord', () => {
  const TEAM_GUILD = '1100000000000000001';
  const TEAM_CHANNEL = '1100000000000000011';
  const OTHER_GUILD = '2200000000000000002';
  const OTHER_CHANNEL = '2200000000000000022';
  const VIEWER = '555000000000000005';
  let discord: DiscordStandIn;
  let t: TestApp;

  beforeAll(async () => {
    discord = await startDiscordStandIn({ guilds: [{ id: TEAM_GUILD, channels: [{ id: TEAM_CHANNEL }] }, { id: OTHER_GUILD, channels: [{ id: OTHER_CHANNEL }] }] });
    // Commands registered globally (no DISCORD_GUILD_ID): the bot answers in every guild it is in, and in DMs.
    t = await startTestApp({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.url,
      PERPDESK_CHATS: `discord-guild:${TEAM_GUILD}`,
      PERPDESK_VIEWERS: `discord:${VIEWER}`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await discord?.close();
  });

  const description = (m: { embeds: unknown[] }) => (m.embeds[0] as { description?: string; title?: string }).description ?? '';
  const title = (m: { embeds: unknown[] }) => (m.embeds[0] as { title?: string }).title ?? '';

  it('answers a member of another guild privately with the refusal, no data, and no subscription', async () => {
    for (const name of ['positions', 'risk', 'help', 'subscribe']) {
      const msg = await discord.dispatchSlashCommand({ name, userId: '7001', guildId: OTHER_GUILD, channelId: OTHER_CHANNEL }).final();
      expect(msg.ephemeral, name).toBe(true);
      expect(description(msg), name).toMatch(PRIVATE);
      expect(title(msg)).toBe('');
    }
    expect(await t.app.ctx.subscriptions.get({ platform: 'discord', chatId: OTHER_CHANNEL })).toBeNull();
  });

  it('answers a stranger in a DM with the refusal', async () => {
    const msg = await discord.dispatchSlashCommand({ name: 'positions', userId: '7002', dm: true }).final();
    expect(description(msg)).toMatch(PRIVATE);
    expect(description(msg)).toContain('discord:7002');
  });

  it('answers a member of the team guild, and a listed viewer in a DM', async () => {
    const inGuild = await discord.dispatchSlashCommand({ name: 'funding', userId: '7003', guildId: TEAM_GUILD, channelId: TEAM_CHANNEL, options: { symbol: 'btc' } }).final();
    expect(title(inGuild)).toBe('Funding BTC-PERP');
    const dm = await discord.dispatchSlashCommand({ name: 'positions', userId: VIEWER, dm: true }).final();
    expect(title(dm)).toBe('Positions');
  });
});
