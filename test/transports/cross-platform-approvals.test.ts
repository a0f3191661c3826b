/**
 * Approvals count people (issue 13), through the real discord.js and telegraf clients against the stand-ins, in one
 * app: a harvester proposal posted to the Discord alert channel and to the Telegram alert chat needs two people, and
 * one person clicking Approve in both is one approval. A click from a chat the proposal was not posted to is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn } from '../fakes/discord/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { telegramEnv } from '../support/telegram.js';
import { entryPlan, eventually } from '../jobs/support/harness.js';
import { proposalAlert } from '../../src/services/harvester/plans.js';

const GUILD = '1100000000000000001';
const ALERT_CHANNEL = '1100000000000000011';
const OTHER_CHANNEL = '1100000000000000012';
const ALERT_CHAT = -1_000_000_000_300;
const ANN_DISCORD = '3100000000000000001';
const ANN_TELEGRAM = 3101;
const BOB_DISCORD = '3200000000000000002';

type Component = { type: number; components?: { custom_id: string; label: string }[] };


describe('approvals count people across Discord and Telegram (whole app, real clients)', () => {
  let discord: DiscordStandIn;
  let tg: TelegramStandIn;
  let t: TestApp;

  beforeAll(async () => {
    discord = await startDiscordStandIn({ guilds: [{ id: GUILD, channels: [{ id: ALERT_CHANNEL }, { id: OTHER_CHANNEL }] }] });
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    t = await startTestApp({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.url,
      DISCORD_GUILD_ID: GUILD,
      DISCORD_ALERT_CHANNEL_ID: ALERT_CHANNEL,
      ...telegramEnv(tg),
      TELEGRAM_ALERT_CHAT_ID: String(ALERT_CHAT),
      HARVESTER_MODE: 'propose',
      APPROVALS_REQUIRED: '2',
      PERPDESK_APPROVERS: `discord:${ANN_DISCORD},discord:${BOB_DISCORD}`,
      PERPDESK_PEOPLE: `ann=discord:${ANN_DISCORD}+telegram:${ANN_TELEGRAM}`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await tg?.close();
    await discord?.close();
  });

  async function propose(id: string) {
    const now = Date.now();
    const rec = await t.app.ctx.harvester.createPlan({ plan: entryPlan(id, now, 0.01), status: 'pending', mode: 'propose', expiresAt: now + 600_000, required: 2 }, now);
    await t.app.ctx.alerts.publish(proposalAlert(rec!));
    const title = `Harvester proposal`;
    const dc = await eventually(() => discord.channelMessages(ALERT_CHANNEL).find((m) => JSON.stringify(m.embeds).includes(title) && JSON.stringify(m.components).includes(id)));
    const tgMsg = await tg.waitForMessage(ALERT_CHAT, (m) => (m.text ?? '').includes(title) && m.inlineKeyboard.flat().some((b) => (b.callback_data ?? '').includes(id)), 10_000);
    const dcApprove = (dc.components as unknown as Component[]).flatMap((r) => r.components ?? []).find((b) => b.label === 'Approve')!.custom_id;
    const tgApprove = tgMsg.inlineKeyboard.flat().find((b) => b.text === 'Approve')!.callback_data!;
    return { dc, tgMsg, dcApprove, tgApprove };
  }

  it('counts Ann once when she approves in the Discord alert channel and again in the Telegram alert chat', async () => {
    const p = await propose('xplat1');
    const first = discord.dispatchButton({ customId: p.dcApprove, userId: ANN_DISCORD, messageId: p.dc.id, channelId: ALERT_CHANNEL });
    await first.waitFor(() => (first.followUps().some((m) => m.content.includes('recorded (1 of 2)')) ? true : null), 'the recorded note', 10_000);

    const q = tg.clickButton({ chatId: ALERT_CHAT, fromId: ANN_TELEGRAM, messageId: p.tgMsg.messageId, data: p.tgApprove });
    expect((await tg.waitForCallbackAnswer(q, 10_000)).text).toBe('You already approved this proposal (1 of 2); it needs another approver.');
    const rec = await t.app.ctx.harvester.plan('xplat1');
    expect(rec?.status).toBe('pending');
    expect(rec?.approvers).toHaveLength(1);
    expect(await t.paper.positions()).toEqual([]);

    const bob = discord.dispatchButton({ customId: p.dcApprove, userId: BOB_DISCORD, messageId: p.dc.id, channelId: ALERT_CHANNEL });
    await bob.waitFor(() => (bob.followUps().some((m) => /Approved/.test(m.content)) ? true : null), 'the approval note', 10_000);
    expect((await t.app.ctx.harvester.plan('xplat1'))?.approvers.map((a) => a.displayName)).toHaveLength(2);
  });

  it('refuses an Approve from a chat the proposal was not posted to, on Discord and on Telegram', async () => {
    const p = await propose('xplat2');
    const elsewhere = discord.dispatchButton({ customId: p.dcApprove, userId: BOB_DISCORD, channelId: OTHER_CHANNEL });
    expect(JSON.stringify((await elsewhere.firstResponse()).body)).toContain('This was not posted in this chat');
    // Ann's private chat with the bot: Telegram would only deliver this for a message carrying the button.
    tg.sendText({ chatId: ANN_TELEGRAM, text: 'hi' });
    const q = tg.clickButton({ chatId: ANN_TELEGRAM, fromId: ANN_TELEGRAM, messageId: 1, data: p.tgApprove, force: true });
    expect((await tg.waitForCallbackAnswer(q, 10_000)).text).toMatch(/^This was not posted in this chat/);
    const rec = await t.app.ctx.harvester.plan('xplat2');
    expect(rec?.status).toBe('pending');
    expect(rec?.approvers).toEqual([]);
    const refused = (await t.app.ctx.audit.latest(50)).filter((e) => e.subject === 'xplat2' && e.action === 'harvester.approval_refused');
    expect(refused.map((e) => e.platform).sort()).toEqual(['discord', 'telegram']);
  });
});
