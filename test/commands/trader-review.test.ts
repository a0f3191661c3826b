/**
 * Defects a demanding trader found on the console (review of the embedded defaults), each pinned by behaviour:
 * clear messages for bad numbers, no silent double switches, readable hourly rates, a warning on a fat-fingered
 * limit, chat-actionable backtest errors and one timestamp format in the audit log.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildTestDesk, actor, type TestDesk } from '../support/desk.js';
import { ratePct } from '../../src/format.js';

let t: TestDesk;
const consoleUser = actor('console', 'console');

beforeAll(async () => {
  t = await buildTestDesk();
});
afterAll(async () => t.close());

const fields = (r: { fields?: { name: string; value: string }[] }) => Object.fromEntries((r.fields ?? []).map((f) => [f.name, f.value]));

describe('bad numbers', () => {
  it('calls a value that is present but not finite or not whole invalid, never missing', async () => {
    expect((await t.desk.command('audit', { n: '1e999' }, consoleUser)).text).toBe('n must be a whole number. Usage: /audit [n]');
    expect((await t.desk.command('audit', { n: '3.5' }, consoleUser)).text).toBe('n must be a whole number. Usage: /audit [n]');
    const order = await t.desk.command('order', { symbol: 'BTC-PERP', side: 'long', size_usd: '1e999', leverage: '3' }, consoleUser);
    expect(order.text).toBe('size_usd must be a number. Usage: /order <symbol> <long|short> <size_usd> <leverage> [price]');
    expect((await t.desk.command('order', { symbol: 'BTC-PERP', side: 'long', size_usd: '1000' }, consoleUser)).text).toMatch(/^Missing leverage\. Usage:/);
  });

  it('ends the reason with a full stop before the usage', async () => {
    expect((await t.desk.command('audit', { n: '0' }, consoleUser)).text).toBe('n must be at least 1. Usage: /audit [n]');
    expect((await t.desk.command('harvester', { action: 'bogus' }, consoleUser)).text).toBe(
      'action must be one of: status, start, stop. Usage: /harvester [status|start|stop]',
    );
  });
});

describe('/harvester start|stop', () => {
  it('says when the harvester is already in the asked state and audits only real switches', async () => {
    const audited = async () => (await t.ctx.audit.latest(50)).filter((e) => e.action.startsWith('harvester.')).map((e) => e.action);
    const first = await t.desk.command('harvester', { action: 'stop' }, consoleUser);
    expect(first.title).toBe('Harvester stopped');
    const again = await t.desk.command('harvester', { action: 'stop' }, consoleUser);
    expect(again.title).toBe('Harvester already stopped');
    expect(await audited()).toEqual(['harvester.stop']);
    expect((await t.desk.command('harvester', { action: 'start' }, consoleUser)).title).toBe('Harvester started');
    expect((await t.desk.command('harvester', { action: 'start' }, consoleUser)).title).toBe('Harvester already running');
    expect(await audited()).toEqual(['harvester.start', 'harvester.stop']);
  });

  it('refuses to start when HARVESTER_MODE=off instead of claiming it started', async () => {
    const off = await buildTestDesk({ env: { HARVESTER_MODE: 'off' } });
    try {
      const r = await off.desk.command('harvester', { action: 'start' }, consoleUser);
      expect(r.text).toMatch(/cannot start: HARVESTER_MODE=off/);
      expect(r.title).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

describe('/funding on an hourly market', () => {
  it('shows an hourly rate with three significant digits, the same for two floats of the same rate', async () => {
    expect(ratePct(0.0000125)).toBe('0.00125%');
    expect(ratePct(0.0000124999999)).toBe(ratePct(0.0000125));
    expect(ratePct(0.0001)).toBe('0.0100%');
    expect(ratePct(-0.0003)).toBe('-0.0300%');
    await t.paper.setFunding('SOL-PERP', 0.0000125);
    try {
      const f = fields(await t.desk.command('funding', { symbol: 'SOL' }, consoleUser));
      expect(f['Current rate']).toBe('0.00125% per 1h (0.0100% per 8h)');
      expect(f['Predicted next']).toBe('0.00125% per 1h · APR 10.95%');
    } finally {
      await t.paper.setFunding('SOL-PERP', null);
    }
  });
});

describe('/order limit far from mark', () => {
  it('warns (without blocking) that a limit buy far below mark rests, and says nothing for a normal limit', async () => {
    const mark = (await t.paper.ticker('BTC-PERP')).markPrice;
    const far = await t.desk.command('order', { symbol: 'BTC-PERP', side: 'long', size_usd: '1000', leverage: '3', price: String(Math.round(mark * 0.5)) }, consoleUser);
    expect(far.text).toMatch(/⚠️ Limit buy at [\d,.]+ is 50\.0% below mark: it rests until the market gets there; check the price/);
    expect(far.buttons?.map((b) => b.label)).toEqual(['Approve', 'Reject']);
    const farSell = await t.desk.command('order', { symbol: 'BTC-PERP', side: 'short', size_usd: '1000', leverage: '3', price: String(Math.round(mark * 0.8)) }, consoleUser);
    expect(farSell.text).toMatch(/Limit sell at [\d,.]+ is 20\.0% below mark: it fills at once near mark/);
    const near = await t.desk.command('order', { symbol: 'BTC-PERP', side: 'long', size_usd: '1000', leverage: '3', price: String(Math.round(mark * 0.95)) }, consoleUser);
    expect(near.text).not.toMatch(/from mark|below mark|above mark/);
  });
});

describe('audit log', () => {
  it('writes the approval deadline in the same UTC format as every other time', async () => {
    await t.desk.command('order', { symbol: 'ETH-PERP', side: 'long', size_usd: '500', leverage: '2' }, consoleUser);
    const requested = (await t.ctx.audit.latest(20)).find((e) => e.action === 'order.requested' && e.detail.includes('ETH-PERP'))!;
    expect(requested.detail).toMatch(/before \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  });
});

describe('/backtest input', () => {
  it('names the allowed range for a period that is well formed but too long or zero', async () => {
    const long = await t.desk.command('backtest', { symbol: 'BTC-PERP', period: '99999d' }, consoleUser);
    expect(long.text).toBe('period must be from 1 day to 3650 days (10y); got "99999d".');
    const zero = await t.desk.command('backtest', { symbol: 'BTC-PERP', period: '0d' }, consoleUser);
    expect(zero.text).toBe('period must be from 1 day to 3650 days (10y); got "0d".');
  });

  it('answers a market without shipped history with the ones that have it, not with CLI flags', async () => {
    const r = await t.desk.command('backtest', { symbol: 'SOL-PERP' }, consoleUser);
    expect(r.text).toBe('No shipped funding history for SOL-PERP. Backtests run on: BTC-PERP.');
  });
});
