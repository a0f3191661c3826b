import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn, type StandInInteraction, type FinalMessage } from '../fakes/discord/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { discordEnv } from '../support/discord-env.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { withPlaceOrder } from '../services/approvals-harness.js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { closeRedis, createRedis } from '../../src/queues/redis.js';
import { parseButtonId } from '../../src/chat/button-id.js';
import { renderApproval } from '../../src/services/approvals/render.js';

let discord: DiscordStandIn;
let t: TestApp;
const TRADER = '1001';
const APPROVER = '2002';
const VIEWER = '9009';
const TRADER_ROLE = '1200000000000000001';

beforeAll(async () => {
  discord = await startDiscordStandIn({ guildId: '1100000000000000001' });
  t = await startTestApp({
    ...discordEnv(discord),
    PERPDESK_TRADERS: `discord:${TRADER},discord-role:${TRADER_ROLE}`,
    PERPDESK_APPROVERS: `discord:${APPROVER},discord:${TRADER}`,
    ALLOW_SELF_APPROVAL: 'false',
  });
});
afterAll(async () => {
  await t?.close();
  await discord?.close();
});

/** The visible answer: the reply, or the private follow-up that replaced a deferred reply. */
async function answer(ix: StandInInteraction): Promise<FinalMessage> {
  return ix.waitFor(() => ix.followUps()[0] ?? (ix.current()?.embeds.length ? ix.current() : null), 'an answer', 10_000);
}

type Component = { type: number; components?: { custom_id: string; label: string }[] };
const buttonsOf = (components: unknown[]) => (components as Component[]).flatMap((row) => row.components ?? []);

describe('orders through Discord buttons', () => {
  it('previews an order, refuses a viewer, fills on a teammate’s Approve and edits the preview in place', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'order', userId: TRADER, options: { symbol: 'BTC-PERP', side: 'long', size_usd: 1000, leverage: 3 } });
    const preview = await ix.final({ timeoutMs: 10_000 });
    const [approve, reject] = buttonsOf(preview.components);
    expect(approve?.label).toBe('Approve');
    expect(reject?.label).toBe('Reject');
    expect(await t.paper.listOrders()).toEqual([]); // nothing sent before approval

    const denied = discord.dispatchButton({ customId: approve!.custom_id, userId: VIEWER, messageId: preview.id });
    const deniedAnswer = await denied.firstResponse();
    expect(JSON.stringify(deniedAnswer.body)).toMatch(/approver/i);
    const self = discord.dispatchButton({ customId: approve!.custom_id, userId: TRADER, messageId: preview.id });
    expect(JSON.stringify((await self.firstResponse()).body)).toMatch(/someone else must approve it/);
    expect(await t.paper.listOrders()).toEqual([]);

    const ok = discord.dispatchButton({ customId: approve!.custom_id, userId: APPROVER, messageId: preview.id });
    await ok.firstResponse();
    // The preview message itself (the one the button sits on) ends showing the fill, with its buttons removed.
    let filled = discord.message(preview.id)!;
    for (let i = 0; i < 150 && !/Filled at/.test(JSON.stringify(filled.embeds)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      filled = discord.message(preview.id)!;
    }
    expect(JSON.stringify(filled.embeds)).toMatch(/Filled at/);
    expect(buttonsOf(filled.components)).toEqual([]);
    expect(JSON.stringify(filled.embeds)).toMatch(/Approved by user-2002/);
    const orders = await t.paper.listOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]!.clientOrderId).toMatch(/^pd-/);
    expect(orders[0]!.status).toBe('filled');
  });

  it('lets a Discord role grant the trader role and refuses /order to everyone else', async () => {
    const refused = discord.dispatchSlashCommand({ name: 'order', userId: '7777', roleIds: [], options: { symbol: 'ETH', side: 'short', size_usd: 500, leverage: 2 } });
    const msg = await answer(refused);
    expect(msg.ephemeral).toBe(true);
    expect(JSON.stringify(msg.embeds)).toMatch(/You need the trader/);
    const allowed = discord.dispatchSlashCommand({ name: 'order', userId: '7778', roleIds: [TRADER_ROLE], options: { symbol: 'ETH', side: 'short', size_usd: 500, leverage: 2 } });
    const preview = await allowed.final({ timeoutMs: 10_000 });
    expect(buttonsOf(preview.components).map((b) => b.label)).toEqual(['Approve', 'Reject']);
  });

  it('refuses a preview above the leverage cap with a message naming the cap, and offers no button', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'order', userId: TRADER, options: { symbol: 'BTC-PERP', side: 'long', size_usd: 1000, leverage: 10 } });
    const msg = await answer(ix);
    expect(JSON.stringify(msg.embeds)).toMatch(/5x/);
    expect(buttonsOf(msg.components)).toEqual([]);
  });
});

/** Polls the stand-in (edits of channel messages are not interaction responses, so `waitFor` does not see them). */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('answering the click first', () => {
  it('acknowledges a crowd of Approve clicks on one preview, places the order once and tells everyone else', async () => {
    const crowd = ['3001', '3002', '3003', '3004', '3005', '3006', '3007', '3008'];
    const d = await startDiscordStandIn({ guildId: '1100000000000000003' });
    const prefix = testPrefix();
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    const config = loadConfig({ ...discordEnv(d), PERPDESK_TRADERS: `discord:${TRADER}`, PERPDESK_APPROVERS: crowd.map((u) => `discord:${u}`).join(',') });
    const app = await startApp({ config, log: silentLogger, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0 });
    try {
      const preview = await d.dispatchSlashCommand({ name: 'order', userId: TRADER, options: { symbol: 'BTC-PERP', side: 'long', size_usd: 1000, leverage: 3 } }).final({ timeoutMs: 10_000 });
      const approve = buttonsOf(preview.components).find((b) => b.label === 'Approve')!;
      const clicks = crowd.map((userId) => d.dispatchButton({ customId: approve.custom_id, userId, messageId: preview.id }));
      const acks = await Promise.all(clicks.map((c) => c.firstResponse({ timeoutMs: 10_000 })));
      expect(acks.every((a) => a.rejected === null)).toBe(true);
      // The clicks of the crowd were acknowledged at once (6), before the shared decision, then answered: the message
      // shows the decision and each clicker gets a private note.
      const types = acks.map((a) => a.callbackType);
      expect(types.every((t) => t === 6 || t === 7)).toBe(true);
      expect(types.filter((t) => t === 6).length).toBeGreaterThan(0);
      const notes = await Promise.all(clicks.map((c) => c.waitFor(() => c.followUps()[0]?.content ?? null, 'the note', 10_000)));
      expect(notes.filter((n) => n === 'Approved: placing the order.')).toHaveLength(1);
      expect(notes.filter((n) => n.startsWith('This preview is no longer valid: it was approved by'))).toHaveLength(crowd.length - 1);
      await until('the preview showing the fill', () => JSON.stringify(d.message(preview.id)?.embeds).includes('Filled at'));
      expect(buttonsOf(d.message(preview.id)!.components)).toEqual([]);
      expect(await paper.listOrders()).toHaveLength(1);
    } finally {
      await app.close();
      await d.close();
      const r = createRedis(redisUrl());
      await deletePrefix(r, prefix);
      await closeRedis(r);
    }
  });

  it('acknowledges the Approve click before it edits the preview’s copies in other channels', async () => {
    const [here, there] = ['1300000000000000011', '1300000000000000012'];
    const d = await startDiscordStandIn({ guilds: [{ id: '1100000000000000002', channels: [{ id: here }, { id: there }] }] });
    const prefix = testPrefix();
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    // The worker's own edits (after the order is placed) wait, so the only edits are the click's.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const exchange = withPlaceOrder(paper, async (req) => {
      await held;
      return paper.placeOrder(req);
    });
    const config = loadConfig({ ...discordEnv(d), PERPDESK_TRADERS: `discord:${TRADER}`, PERPDESK_APPROVERS: `discord:${APPROVER}` });
    const app = await startApp({ config, log: silentLogger, redisUrl: redisUrl(), exchange, prefix, httpPort: 0 });
    try {
      const preview = await d.dispatchSlashCommand({ name: 'order', userId: TRADER, channelId: here, options: { symbol: 'BTC-PERP', side: 'long', size_usd: 1000, leverage: 3 } }).final({ timeoutMs: 10_000 });
      const approve = buttonsOf(preview.components).find((b) => b.label === 'Approve')!;
      const id = parseButtonId(approve.custom_id)!.ref;
      const copy = await app.discord!.send(there, renderApproval((await app.ctx.approvals.get(id))!));
      await app.desk.messageSent(id, copy);

      const before = d.messageEdits().length;
      const click = d.dispatchButton({ customId: approve.custom_id, userId: APPROVER, messageId: preview.id });
      expect((await click.firstResponse()).callbackType).toBe(7);
      const shows = (text: string) => JSON.stringify(d.message(copy.messageId)?.embeds).includes(text);
      await until('the copy edited', () => shows('Approved by'));
      const edits = d.messageEdits().slice(before).map((e) => `${e.via} ${e.messageId === preview.id ? 'preview' : e.messageId === copy.messageId ? 'copy' : e.messageId}`);
      expect(edits).toEqual(['interaction-callback preview', 'channel copy']);

      release();
      await until('the copy showing the fill', () => shows('Filled at'));
      expect(await paper.listOrders()).toHaveLength(1);
    } finally {
      release();
      await app.close();
      await d.close();
      const r = createRedis(redisUrl());
      await deletePrefix(r, prefix);
      await closeRedis(r);
    }
  });
});
