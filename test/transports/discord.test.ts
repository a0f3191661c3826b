import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn } from '../fakes/discord/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { discordEnv } from '../support/discord-env.js';
import { annualize } from '../../src/domain/funding.js';
import { unwrap } from '../../src/domain/result.js';
import { pct } from '../../src/format.js';
import { rateLimitedTotal } from '../../src/metrics/registry.js';
import { metricValue } from '../http/metrics-support.js';

let discord: DiscordStandIn;
let t: TestApp;

beforeAll(async () => {
  discord = await startDiscordStandIn({ guildId: '1100000000000000001' });
  t = await startTestApp({
    ...discordEnv(discord),
  });
});
afterAll(async () => {
  await t?.close();
  await discord?.close();
});

describe('Discord transport through the real discord.js client', () => {
  it('registers every registry command on the guild with typed options and symbol autocomplete', () => {
    const registered = discord.registeredCommands(discord.guildId);
    const names = registered.map((c) => (c.body as { name: string }).name).sort();
    expect(names).toEqual(t.app.desk.commands.map((c) => c.name).sort());
    const funding = registered.find((c) => (c.body as { name: string }).name === 'funding')!.body as { options: { name: string; type: number; autocomplete?: boolean; required?: boolean }[] };
    expect(funding.options[0]).toMatchObject({ name: 'symbol', type: 3, autocomplete: true, required: true });
  });

  it('registers server-only commands (no DMs), with admin commands hidden from members without Manage Server', () => {
    const bodies = discord.registeredCommands(discord.guildId).map((c) => c.body as { name: string; contexts?: number[]; integration_types?: number[]; default_member_permissions?: string | null });
    for (const b of bodies) {
      expect(b.contexts, b.name).toEqual([0]);
      expect(b.integration_types, b.name).toEqual([0]);
    }
    const hidden = bodies.filter((b) => b.default_member_permissions !== null && b.default_member_permissions !== undefined);
    expect(hidden.map((b) => b.name).sort()).toEqual(['paper', 'pause', 'resume']);
    // Manage Server (1 << 5).
    for (const b of hidden) expect(b.default_member_permissions).toBe('32');
  });

  it('answers /funding with an embed whose numbers match the paper exchange', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'funding', userId: '501', options: { symbol: 'btc' } });
    const msg = await ix.final();
    const f = await t.paper.funding('BTC-PERP');
    const embed = msg.embeds[0] as { title: string; fields: { name: string; value: string }[] };
    expect(embed.title).toBe('Funding BTC-PERP');
    const byName = Object.fromEntries(embed.fields.map((x) => [x.name, x.value]));
    expect(byName['Current rate']).toContain(`${pct(f.currentRate, 4)} per 8h`);
    expect(byName['Annualised (APR)']).toBe(pct(unwrap(annualize({ rate: f.currentRate, intervalHours: 8 }))));
    expect(ix.late).toBe(false);
  });

  it('autocompletes symbols', async () => {
    const ix = discord.dispatchAutocomplete({ name: 'funding', userId: '501', focused: { name: 'symbol', value: 'et' } });
    expect(await ix.autocompleteChoices()).toEqual([{ name: 'ETH-PERP', value: 'ETH-PERP' }]);
  });

  it('answers an unknown symbol privately with the closest symbols', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'oi', userId: '501', options: { symbol: 'BTCC' } });
    const msg = await ix.final();
    expect(msg.ephemeral).toBe(true);
    expect((msg.embeds[0] as { description: string }).description).toMatch(/^Unknown symbol BTCC\. Closest: BTC-PERP/);
  });

  it('defers a slow command first, then fills in the answer', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'positions', userId: '501' });
    const first = await ix.firstResponse();
    expect(first.callbackType).toBe(5);
    const msg = await ix.final();
    expect((msg.embeds[0] as { title: string }).title).toBe('Positions');
    expect(ix.late).toBe(false);
  });

  it('routes an outdated or foreign button to a private note', async () => {
    const ix = discord.dispatchButton({ customId: 'someone-elses:button', userId: '501' });
    const first = await ix.firstResponse();
    expect(first.callbackType).toBe(4);
    expect(JSON.stringify(first.body)).toContain('outdated or not from PerpDesk');
  });

  it('answers /backtest with the result table and the equity curve as a PNG attachment', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'backtest', userId: '501', options: { symbol: 'BTC-PERP', period: '90d', min_apr: 30 } });
    expect((await ix.firstResponse()).callbackType).toBe(5);
    const msg = await ix.final({ timeoutMs: 20_000 });
    const embed = msg.embeds[0] as { title: string; fields: { name: string; value: string }[]; image: { url: string } };
    expect(embed.title).toBe('Backtest: BTC funding harvester, 90 d');
    expect(embed.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['Total return', 'Max drawdown', 'Trades', 'Funding', 'Fees']));
    expect(embed.image.url).toBe('attachment://backtest-BTC-90d.png');
    const att = msg.attachments.find((a) => a.filename === 'backtest-BTC-90d.png')!;
    expect(att.size).toBeGreaterThan(10_000);
  });

  it('delivers an alert to a channel and edits it in place (Notifier)', async () => {
    const ref = await t.app.discord!.send(discord.channelId, { title: 'Cascade BTC-PERP', text: 'OI -4.5%', severity: 'critical' });
    await t.app.discord!.edit(ref, { title: 'Cascade BTC-PERP', text: 'cascade over', severity: 'info' });
    const msgs = discord.channelMessages(discord.channelId);
    const m = msgs.find((x) => x.id === ref.messageId)!;
    expect((m.embeds[0] as { description: string }).description).toBe('cascade over');
    expect(discord.unhandled()).toEqual([]);
  });

  it('counts a 429 from Discord in perpdesk_rate_limited_total while discord.js waits it out and sends', async () => {
    const before = await metricValue(rateLimitedTotal, { platform: 'discord' });
    discord.forceRateLimit('POST /channels/:channel/messages', 1, 50);
    const ref = await t.app.discord!.send(discord.channelId, { title: 'Risk', text: 'after a 429', severity: 'warning' });
    expect(discord.channelMessages(discord.channelId).some((x) => x.id === ref.messageId)).toBe(true);
    expect(await metricValue(rateLimitedTotal, { platform: 'discord' })).toBe(before + 1);
  });
});
