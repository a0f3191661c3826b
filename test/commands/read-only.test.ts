import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildTestDesk, actor, type TestDesk } from '../support/desk.js';
import { annualize, fundingPayment } from '../../src/domain/funding.js';
import { unwrap } from '../../src/domain/result.js';
import { pct, signedPct, signedUsd } from '../../src/format.js';
import { oiQuadrant } from '../../src/domain/oi.js';
import { QUADRANT_WORDS } from '../../src/services/oi-reading.js';

let t: TestDesk;
const viewer = actor('discord', '111');

beforeAll(async () => {
  t = await buildTestDesk();
});
afterAll(async () => t.close());

describe('read-only commands', () => {
  it('/funding shows rate, APR by the real interval, countdown and the expected payment of an open position', async () => {
    await t.paper.setFunding('BTC-PERP', 0.0003);
    await t.paper.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.1, leverage: 3, reduceOnly: false, clientOrderId: 'ro-1' });
    const [f, tk, pos] = await Promise.all([t.paper.funding('BTC-PERP'), t.paper.ticker('BTC-PERP'), t.paper.positions()]);
    const r = await t.desk.command('funding', { symbol: 'btc' }, viewer);
    expect(r.title).toBe('Funding BTC-PERP');
    const byName = Object.fromEntries((r.fields ?? []).map((x) => [x.name, x.value]));
    expect(byName['Current rate']).toContain(`${pct(f.currentRate, 4)} per 8h`);
    expect(byName['Annualised (APR)']).toBe(pct(unwrap(annualize({ rate: f.currentRate, intervalHours: 8 }))));
    expect(byName['Next funding']).toMatch(/in \d{2}:\d{2}:\d{2}\)/);
    const p = pos.find((x) => x.symbol === 'BTC-PERP')!;
    const pay = unwrap(fundingPayment({ side: p.side, size: p.size, price: tk.markPrice, rate: f.currentRate }));
    expect(pay).toBeGreaterThan(0); // a short receives positive funding
    expect(byName['Your next payment (+ receives, − pays)']).toContain(`${signedUsd(pay)} (receives)`);
  });

  it('/funding annualises an hourly market by 8760', async () => {
    const r = await t.desk.command('funding', { symbol: 'SOL' }, viewer);
    const f = await t.paper.funding('SOL-PERP');
    expect(f.fundingIntervalHours).toBe(1);
    const byName = Object.fromEntries((r.fields ?? []).map((x) => [x.name, x.value]));
    expect(byName['Annualised (APR)']).toBe(pct(f.currentRate * 8760));
    expect(byName['Interval']).toBe('1h');
  });

  it('answers an unknown symbol with the closest valid ones', async () => {
    const r = await t.desk.command('funding', { symbol: 'BTX' }, viewer);
    expect(r.text).toMatch(/^Unknown symbol BTX\. Closest: BTC-PERP/);
    expect(r.severity).toBe('warning');
  });

  it('answers a missing option with usage', async () => {
    const r = await t.desk.command('oi', {}, viewer);
    expect(r.text).toBe('Missing symbol. Usage: /oi <symbol>');
  });

  it('/positions lists the position with liquidation buffer and accrued funding', async () => {
    const r = await t.desk.command('positions', {}, viewer);
    expect(r.table?.headers).toContain('Buffer');
    const row = r.table!.rows.find((x) => x[0] === 'BTC-PERP')!;
    expect(row[1]).toBe('short');
    expect(row[7]).toMatch(/^\d+\.\d%$/);
  });

  it('/oi reports the change since the first sample and a quadrant reading', async () => {
    let now = Date.now();
    const d = await buildTestDesk({ now: () => now });
    try {
      await d.desk.command('oi', { symbol: 'ETH' }, viewer);
      const oi0 = (await d.paper.openInterest('ETH-PERP')).openInterest;
      await d.paper.setPrice('ETH-PERP', (await d.paper.ticker('ETH-PERP')).markPrice * 1.02);
      await d.paper.placeOrder({ symbol: 'ETH-PERP', side: 'buy', orderType: 'market', quantity: 1, leverage: 2, reduceOnly: false, clientOrderId: 'oi-1' });
      now += 30 * 60_000;
      const r = await d.desk.command('oi', { symbol: 'ETH' }, viewer);
      const byName = Object.fromEntries((r.fields ?? []).map((x) => [x.name.replace(/,.*/, ''), x.value]));
      expect(byName['Price change']).toMatch(/^\+2\.00%$/);
      const oiChange = (await d.paper.openInterest('ETH-PERP')).openInterest / oi0 - 1;
      expect(oiChange).toBeGreaterThan(0);
      expect(byName['OI change']).toBe(signedPct(oiChange));
      const q = unwrap(oiQuadrant({ priceChange: 0.02, oiChange }));
      expect(byName['Reading']).toBe(`${QUADRANT_WORDS[q.quadrant]} (${q.bias}, ${q.strength})`);
    } finally {
      await d.close();
    }
  });

  it('/basis explains that the z-score needs samples before it has a window', async () => {
    const r = await t.desk.command('basis', { symbol: 'BTC-PERP' }, viewer);
    const byName = Object.fromEntries((r.fields ?? []).map((x) => [x.name, x.value]));
    expect(byName['z-score']).toMatch(/not enough samples yet \(1\/48\)/);
    expect(byName['Basis']).toMatch(/%/);
  });

  it('/risk shows leverage and warns when a buffer is below 10%', async () => {
    const p = (await t.paper.positions()).find((x) => x.symbol === 'BTC-PERP')!;
    // Move the mark to 5% below the short's liquidation price.
    await t.paper.setPrice('BTC-PERP', p.liquidationPrice! * 0.95);
    const r = await t.desk.command('risk', {}, viewer);
    expect(r.text).toMatch(/BTC-PERP short: liquidation buffer \d+\.\d% is below 10%/);
    expect(r.severity).toBe('warning');
  });

  it('/help lists every registered command', async () => {
    const r = await t.desk.command('help', {}, viewer);
    for (const c of t.desk.commands) expect(r.table!.rows.some((row) => row[0]!.startsWith(`/${c.name}`))).toBe(true);
  });

  it('/status reports Redis and the exchange', async () => {
    const r = await t.desk.command('status', {}, viewer);
    expect(r.fields?.find((f) => f.name === 'Redis')?.value).toContain('ok');
  });
});
