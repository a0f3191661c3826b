/**
 * Chats' alert rules evaluated by their job on real Redis, BullMQ and the paper exchange; alerts go through the real
 * notify queue to recording chats. Commands run through the dispatcher as a chat would send them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runAlertRules } from '../../jobs/alert-rules.js';
import type { JobContext } from '../../jobs/job-context.js';
import type { Exchange } from '../../src/exchange/port.js';
import { buildServices } from '../../src/services/build.js';
import { MAX_RULES_PER_CHAT } from '../../src/services/rules/store.js';
import { parseRule } from '../../src/domain/alert-rules.js';
import { drained, jobsHarness, RecordingNotifier, telegramInvocation, type JobsHarness } from './support/harness.js';

const TEAM = '-500';
let h: JobsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const inTeam = () => telegramInvocation('42', TEAM);

async function harness(opts: { exchange?: (p: JobsHarness['paper']) => Exchange } = {}) {
  const tg = new RecordingNotifier('telegram');
  h = await jobsHarness({ env: { PERPDESK_CHATS: `telegram:${TEAM}` }, extraNotifiers: [tg], ...opts });
  return { h, tg };
}

async function add(h: JobsHarness, rule: string, inv = inTeam()): Promise<string> {
  const r = await h.run('alert', { action: 'add', rule }, inv);
  return `${r.title ?? ''}\n${r.text ?? ''}`;
}

async function runs(h: JobsHarness, n = 1, ctx: JobContext = h.bg.ctx): Promise<void> {
  for (let i = 0; i < n; i++) await runAlertRules(ctx);
  await drained(h);
}

describe('alert rules job', () => {
  it('fires once per crossing to the chat that owns the rule, and again only after the value moved back past the margin', async () => {
    const { h, tg } = await harness();
    expect(await add(h, 'price eth < 3000')).toMatch(/Alert rule r1 added[\s\S]*price ETH-PERP < 3000/);
    // Another chat's rule that never fires: the console chat must not see the first chat's alert.
    expect(await add(h, 'price btc < 1', { platform: 'console', actor: { platform: 'console', userId: 'console', displayName: 'console', roleIds: [] }, chatId: 'console' })).toMatch(/r1 added/);
    await runs(h, 2);
    expect(tg.sent).toHaveLength(0);

    await h.paper.setPrice('ETH-PERP', 2_990);
    await runs(h, 3);
    expect(tg.sent.map((s) => [s.chatId, s.reply.title])).toEqual([[TEAM, 'Alert rule r1 — price ETH-PERP < 3000: now 2,990.00']]);
    expect(JSON.stringify(tg.sent[0]!.reply.fields)).toContain('3,015.00'); // re-arms at +0.5 %
    expect(h.notifier.sent).toHaveLength(0); // the console chat has its own rules and got nothing

    await h.paper.setPrice('ETH-PERP', 3_010); // inside the margin: still fired
    await runs(h);
    await h.paper.setPrice('ETH-PERP', 2_980);
    await runs(h);
    expect(tg.sent).toHaveLength(1);
    const listed = await h.run('alert', { action: 'list' }, inTeam());
    expect(listed.table?.rows).toEqual([['r1', 'price ETH-PERP < 3000', '2,980.00', 'fired', expect.stringMatching(/UTC$/)]]);

    await h.paper.setPrice('ETH-PERP', 3_020); // past 3 015: re-armed
    await runs(h);
    expect((await h.run('alert', { action: 'list' }, inTeam())).table?.rows[0]?.[3]).toBe('armed');
    await h.paper.setPrice('ETH-PERP', 2_995);
    await runs(h);
    expect(tg.sent.map((s) => s.reply.title)).toEqual([
      'Alert rule r1 — price ETH-PERP < 3000: now 2,990.00',
      'Alert rule r1 — price ETH-PERP < 3000: now 2,995.00',
    ]);
  });

  it('does not fire again after a restart while the rule has not re-armed, and a crash after publishing sends one alert', async () => {
    const { h, tg } = await harness();
    await add(h, 'funding btc > 0.05%');
    await h.paper.setFunding('BTC-PERP', 0.001); // 0.1 % per interval
    // The first run dies after publishing, before it records the firing.
    const crashing: JobContext = {
      ...h.bg.ctx,
      rules: new Proxy(h.bg.ctx.rules, {
        get(target, prop) {
          if (prop === 'saveStates') return async () => { throw new Error('process killed'); };
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }),
    };
    await expect(runAlertRules(crashing)).rejects.toThrow('process killed');
    // A fresh process: new services on the same Redis, nothing kept in memory.
    const services = buildServices({ redis: h.redis, prefix: h.prefix, exchange: h.paper, now: Date.now, queuePrefix: h.queuePrefix, status: async () => { throw new Error('unused'); } });
    const restarted: JobContext = { ...h.bg.ctx, rules: services.rules, alerts: services.alerts, samples: services.samples };
    await runs(h, 3, restarted);
    expect(tg.sent).toHaveLength(1);
    expect(tg.sent[0]!.reply.title).toBe('Alert rule r1 — funding BTC-PERP > 0.05%: now 0.1000%');
    const [state] = [...(await services.rules.states()).values()];
    expect(state).toMatchObject({ armed: false, fires: 1 });
    await services.alerts.close();
  });

  it('fetches each value once per run however many rules read it', async () => {
    const calls: Record<string, number> = {};
    const counting = (paper: JobsHarness['paper']): Exchange => new Proxy(paper, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        return (...a: unknown[]) => {
          const k = `${String(prop)}${typeof a[0] === 'string' ? `:${a[0]}` : ''}`;
          calls[k] = (calls[k] ?? 0) + 1;
          return (v as (...x: unknown[]) => unknown).apply(target, a);
        };
      },
    }) as unknown as Exchange;
    const { h } = await harness({ exchange: counting });
    for (const r of ['funding btc > 1%', 'funding btc < -1%', 'funding btc apr > 500%', 'price btc > 1000000', 'price btc < 1', 'oi btc 1h > 50%', 'oi btc 30m < -50%', 'buffer < 1%', 'buffer > 99%', 'price eth < 1']) {
      expect(await add(h, r)).toMatch(/added/);
    }
    for (const k of Object.keys(calls)) delete calls[k];
    await runs(h);
    expect(calls).toEqual({ 'funding:BTC-PERP': 1, 'ticker:BTC-PERP': 1, 'ticker:ETH-PERP': 1, 'openInterest:BTC-PERP': 1, positions: 1 });
  });

  it('reads the lowest position buffer for "buffer <" and the OI change over the rule’s window', async () => {
    const { h, tg } = await harness();
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.1, leverage: 5, reduceOnly: false, clientOrderId: 't-long' });
    await add(h, 'buffer < 12%');
    await add(h, 'oi btc 1h < -5%');
    const oiNow = (await h.paper.openInterest('BTC-PERP')).openInterest;
    const now = Date.now();
    // Only 10 minutes of history: not yet a change over an hour.
    await h.ctx.samples.addOi('BTC-PERP', { ts: now - 10 * 60_000, oi: oiNow * 1.1, price: 65_000 });
    await runs(h);
    expect(tg.sent).toHaveLength(0);
    expect((await h.run('alert', { action: 'list' }, inTeam())).table?.rows.map((r) => r[2])).toEqual(['19.60%', 'not yet']);

    await h.ctx.samples.addOi('BTC-PERP', { ts: now - 50 * 60_000, oi: oiNow * 1.1, price: 65_000 });
    await h.paper.setPrice('BTC-PERP', 57_000); // buffer ≈ 8.3 %
    await runs(h);
    const titles = tg.sent.map((s) => s.reply.title).sort();
    expect(titles).toHaveLength(2);
    expect(titles[0]).toMatch(/^Alert rule r1 — buffer < 12%: now 8\.\d\d%$/);
    expect(titles[1]).toBe('Alert rule r2 — oi BTC-PERP 1h < -5%: now -9.09%');
  });

  it('keeps at most 50 rules per chat, even when adds race, and refuses the next one with a message', async () => {
    const { h } = await harness();
    const dest = { platform: 'telegram' as const, chatId: TEAM, chatType: 'group' as const };
    const rule = (i: number) => parseRule(`price BTC-PERP > ${100_000 + i}`);
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => {
      const p = rule(i);
      if (!p.ok) throw new Error('bad rule');
      return h.ctx.rules.add(dest, `price BTC-PERP > ${100_000 + i}`, p.rule, 'test', Date.now());
    }));
    expect(outcomes.filter((o) => o.kind === 'added')).toHaveLength(MAX_RULES_PER_CHAT);
    expect(outcomes.filter((o) => o.kind === 'full')).toHaveLength(10);
    expect(await h.ctx.rules.list(dest)).toHaveLength(50);

    expect(await add(h, 'price eth < 3000')).toMatch(/Not added: this chat has 50 alert rules, the most a chat may keep is 50/);
    expect(await add(h, 'price BTC-PERP > 100003')).toMatch(/already has the rule r\d+: price BTC-PERP > 100003/);
    const removed = await h.run('alert', { action: 'remove', rule: 'r7' }, inTeam());
    expect(removed.text).toMatch(/r7 removed/);
    expect(await add(h, 'price eth < 3000')).toMatch(/Alert rule r51 added/); // ids are never reused: r7 stays gone
    expect((await h.run('alert', { action: 'remove', rule: 'r7' }, inTeam())).text).toMatch(/This chat has no rule r7\. Its rules: r1, r2/);
  });

  it('answers bad rules with the reason and the usage, and changes nothing', async () => {
    const { h } = await harness();
    const before = await h.redis.keys(`${h.prefix}:rules:*`);
    for (const [text, why] of [
      ['funding btc > 0.05', /needs a %/],
      ['funding btc >= 0.05%', /> or </],
      ['price XYZQ < 5', /Unknown symbol XYZQ/],
      ['volume btc > 5', /starts with funding, price, buffer or oi/],
      ['price btc@bybit < 5', /need MARKET_VENUES, which is not set/],
      ['oi btc 1d < -5%', /window/],
    ] as const) {
      const out = await add(h, text);
      expect(out).toMatch(why);
      if (!/Unknown symbol|MARKET_VENUES/.test(out)) expect(out).toMatch(/Usage: \/alert add <rule>[\s\S]*funding BTC-PERP > 0\.05%[\s\S]*oi BTC-PERP 1h < -5%/);
    }
    expect((await h.run('alert', { action: 'add' }, inTeam())).text).toMatch(/Which rule\?/);
    expect((await h.run('alert', { action: 'remove', rule: 'everything' }, inTeam())).text).toMatch(/Give its id/);
    expect(await h.redis.keys(`${h.prefix}:rules:*`)).toEqual(before);
  });

  it('refuses rules in a group that may not receive alerts, even from a listed person', async () => {
    const { h } = await harness();
    const r = await h.run('alert', { action: 'add', rule: 'price eth < 3000' }, telegramInvocation('42', '-999'));
    expect(r.text).toMatch(/Alert rules go only to the team's chats/);
    // A listed person's private chat may.
    expect(await add(h, 'price eth < 3000', telegramInvocation('42', '42'))).toMatch(/r1 added/);
  });
});
