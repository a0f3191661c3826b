/**
 * `/orders`, `/cancel` and `/flatten` through the real discord.js and telegraf clients against the stand-ins, in one
 * app: the lists, a cancel announced to the alert destinations, answers to bad input, and a flatten previewed in
 * one chat, approved by a teammate's button and reported leg by leg to the alert channel and the alert chat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn, type StandInInteraction } from '../fakes/discord/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEAM_CHANNEL, TEAM_GROUP } from '../support/desk.js';
import { ask, telegramEnv } from '../support/telegram.js';
import { eventually } from '../services/approvals-harness.js';

const GUILD = '1100000000000000041';
const ALERT_CHANNEL = '1100000000000000042';
const ALERT_CHAT = -1_000_000_000_410;
const TRADER_DC = '4100000000000000001';
const APPROVER_DC = '4100000000000000002';
const TRADER_TG = 4101;
const APPROVER_TG = 4102;
const GROUP = Number(TEAM_GROUP);

type Component = { components?: { custom_id: string; label: string }[] };
const buttonsOf = (components: unknown[]) => (components as Component[]).flatMap((row) => row.components ?? []);

let discord: DiscordStandIn;
let tg: TelegramStandIn;
let t: TestApp;

beforeAll(async () => {
  discord = await startDiscordStandIn({ guilds: [{ id: GUILD, channels: [{ id: TEAM_CHANNEL }, { id: ALERT_CHANNEL }] }] });
  tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
  t = await startTestApp({
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.url,
    DISCORD_GUILD_ID: GUILD,
    DISCORD_ALERT_CHANNEL_ID: ALERT_CHANNEL,
    ...telegramEnv(tg),
    TELEGRAM_ALERT_CHAT_ID: String(ALERT_CHAT),
    PERPDESK_TRADERS: `discord:${TRADER_DC},telegram:${TRADER_TG}`,
    PERPDESK_APPROVERS: `discord:${TRADER_DC},discord:${APPROVER_DC},telegram:${APPROVER_TG}`,
    ALLOW_SELF_APPROVAL: 'false',
  });
  await t.paper.setPrice('BTC-PERP', 65_000);
  await t.paper.setPrice('ETH-PERP', 3_500);
});

afterAll(async () => {
  await t?.close();
  await tg?.close();
  await discord?.close();
});

async function answer(ix: StandInInteraction): Promise<string> {
  const m = await ix.waitFor(() => ix.followUps()[0] ?? (ix.current()?.embeds.length ? ix.current() : null), 'an answer', 15_000);
  return JSON.stringify(m.embeds) + m.content;
}

function restingLimit(symbol: string, side: 'buy' | 'sell', quantity: number, price: number, cid: string) {
  return t.paper.placeOrder({ symbol, side, orderType: 'limit', quantity, price, leverage: 2, reduceOnly: false, clientOrderId: cid });
}

describe('/orders and /cancel through Discord and Telegram', () => {
  it('lists resting orders and cancels one on Discord, announced in the alert channel and the alert chat', async () => {
    const o = await restingLimit('BTC-PERP', 'buy', 0.01, 60_000, 'dc-web-1');
    const listed = await answer(discord.dispatchSlashCommand({ name: 'orders', userId: '4100000000000000099', options: {} }));
    expect(listed).toContain(o.orderId);
    expect(listed).toContain('outside PerpDesk');
    expect(listed).toContain('60,000.00');

    const cancelled = await answer(discord.dispatchSlashCommand({ name: 'cancel', userId: TRADER_DC, options: { order: o.orderId } }));
    expect(cancelled).toContain(`Cancelled ${o.orderId}`);
    expect((await t.paper.listOrders({ clientOrderId: 'dc-web-1' }))[0]?.status).toBe('canceled');
    await eventually(() => discord.channelMessages(ALERT_CHANNEL).some((m) => JSON.stringify(m.embeds).includes(`user-${TRADER_DC}`) || JSON.stringify(m.embeds).includes('cancelled a resting order')), 15_000);
    await tg.waitForMessage(ALERT_CHAT, (m) => (m.text ?? '').includes('cancelled a resting order') && (m.text ?? '').includes(o.orderId), 15_000);

    // The same order again, an unknown id, and someone without the trader role: answered, nothing changes.
    expect(await answer(discord.dispatchSlashCommand({ name: 'cancel', userId: TRADER_DC, options: { order: o.orderId } }))).toContain('is no longer resting: it is canceled by');
    expect(await answer(discord.dispatchSlashCommand({ name: 'cancel', userId: TRADER_DC, options: { order: 'P77777777' } }))).toContain('No order P77777777 at the exchange');
    expect(await answer(discord.dispatchSlashCommand({ name: 'cancel', userId: '4100000000000000099', options: { order: 'all' } }))).toMatch(/trader/);
  });

  it('lists and cancels all on Telegram, and says so when nothing rests', async () => {
    const o = await restingLimit('ETH-PERP', 'sell', 0.2, 3_900, 'tg-web-1');
    expect(await ask(tg, GROUP, '/orders eth', TRADER_TG)).toContain(o.orderId);
    expect(await ask(tg, GROUP, '/cancel all ETH-PERP', TRADER_TG)).toContain('Cancel all in ETH-PERP: 1 of 1 cancelled');
    expect(await ask(tg, GROUP, '/cancel all', TRADER_TG)).toContain('No resting orders: nothing was cancelled.');
    expect(await ask(tg, GROUP, '/orders', TRADER_TG)).toContain('No resting orders.');
    expect(await ask(tg, GROUP, '/cancel', TRADER_TG)).toMatch(/\/cancel/);
  });
});

describe('/flatten through Discord and Telegram', () => {
  it('previews on Discord, refuses the requester, flattens on a teammate’s Approve and reports each leg to the alert destinations', async () => {
    await t.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.03, leverage: 2, reduceOnly: false, clientOrderId: 'fl-dc-pos' });
    const o = await restingLimit('ETH-PERP', 'buy', 0.1, 3_000, 'fl-dc-order');
    const preview = await discord.dispatchSlashCommand({ name: 'flatten', userId: TRADER_DC, options: { reason: 'venue incident' } }).final({ timeoutMs: 15_000 });
    expect(JSON.stringify(preview.embeds)).toContain('Flatten preview: cancel 1 order(s), close 1 position(s)');
    const approve = buttonsOf(preview.components).find((b) => b.label === 'Approve')!;
    const self = discord.dispatchButton({ customId: approve.custom_id, userId: TRADER_DC, messageId: preview.id });
    expect(JSON.stringify((await self.firstResponse()).body)).toMatch(/someone else must approve it/);
    expect((await t.paper.positions()).length).toBe(1);

    const ok = discord.dispatchButton({ customId: approve.custom_id, userId: APPROVER_DC, messageId: preview.id });
    await ok.firstResponse();
    await eventually(async () => (await t.paper.positions()).length === 0, 15_000);
    expect((await t.paper.listOrders({ clientOrderId: 'fl-dc-order' }))[0]?.status).toBe('canceled');
    const report = await eventually(() => discord.channelMessages(ALERT_CHANNEL).find((m) => JSON.stringify(m.embeds).includes('Flatten done')), 15_000);
    const text = JSON.stringify(report.embeds);
    expect(text).toContain('venue incident');
    expect(text).toContain(`Cancel ${o.orderId} ETH-PERP: cancelled`);
    expect(text).toMatch(/Close long 0.03 BTC-PERP \(market sell 0.03, reduce-only, fl-[a-z0-9]+-1\): filled 0.03 at/);
    await tg.waitForMessage(ALERT_CHAT, (m) => (m.text ?? '').includes('Flatten done'), 15_000);
    // The preview ends showing the result, without buttons.
    await eventually(() => JSON.stringify(discord.message(preview.id)?.embeds).includes('Flattened'), 15_000);
    expect(buttonsOf(discord.message(preview.id)!.components)).toEqual([]);
  });

  it('previews on Telegram and flattens on an approver’s inline button', async () => {
    await t.paper.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'market', quantity: 0.5, leverage: 2, reduceOnly: false, clientOrderId: 'fl-tg-pos' });
    const before = tg.messages(GROUP).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId: GROUP, fromId: TRADER_TG, text: '/flatten drill' });
    const msg = await tg.waitForMessage(GROUP, (m) => m.messageId > before && m.inlineKeyboard.length > 0, 15_000);
    expect(msg.text).toContain('Flatten preview: cancel 0 order(s), close 1 position(s)');
    const data = msg.inlineKeyboard.flat().find((b) => b.text === 'Approve')!.callback_data!;
    const q = tg.clickButton({ chatId: GROUP, fromId: APPROVER_TG, messageId: msg.messageId, data });
    expect((await tg.waitForCallbackAnswer(q, 15_000)).text).toBe('Approved: flattening now. The report follows leg by leg when it is done.');
    await eventually(async () => (await t.paper.positions()).length === 0, 15_000);
    await tg.waitForMessage(ALERT_CHAT, (m) => (m.text ?? '').includes('Flatten done') && (m.text ?? '').includes('drill'), 15_000);
    expect(await ask(tg, GROUP, '/flatten', TRADER_TG)).toContain('Nothing to flatten');
  });
});
