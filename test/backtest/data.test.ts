import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseFundingCsv, parsePriceCsv } from '../../src/backtest/csv.js';
import { joinHistory, loadHistory, normaliseSymbol, parseTime } from '../../src/backtest/data.js';

const FUNDING_HEADER = 'time,funding_rate,funding_interval_hours';
const PRICE_HEADER = 'time,perp_btcusdt_usdtm_close,spot_btcusdt_close';

function fundingCsv(rows: string[]): string {
  return [FUNDING_HEADER, ...rows].join('\n') + '\n';
}

function priceCsv(rows: string[]): string {
  return [PRICE_HEADER, ...rows].join('\n') + '\n';
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}

describe('funding CSV validation', () => {
  it('reads settlements, rates and intervals', () => {
    const f = parseFundingCsv(fundingCsv(['2021-01-01T00:00:00Z,0.0001,8', '2021-01-01T08:00:00Z,-2.5e-4,8']), 'f.csv');
    expect(Array.from(f.ts)).toEqual([Date.UTC(2021, 0, 1, 0), Date.UTC(2021, 0, 1, 8)]);
    expect(Array.from(f.rate)).toEqual([0.0001, -0.00025]);
    expect(Array.from(f.line)).toEqual([2, 3]);
  });

  it('names the row of a gap between settlements', () => {
    const e = errorOf(() =>
      parseFundingCsv(fundingCsv(['2021-01-01T00:00:00Z,0.0001,8', '2021-01-01T08:00:00Z,0.0001,8', '2021-01-02T00:00:00Z,0.0001,8']), 'f.csv'),
    );
    expect(e.message).toBe(
      'f.csv line 4 (2021-01-02T00:00:00Z): gap: 16 h after the previous settlement (2021-01-01T08:00:00.000Z), expected 8 h',
    );
  });

  it('names the row that is out of order, and a duplicate', () => {
    const unsorted = errorOf(() =>
      parseFundingCsv(fundingCsv(['2021-01-01T08:00:00Z,0.0001,8', '2021-01-01T00:00:00Z,0.0001,8']), 'f.csv'),
    );
    expect(unsorted.message).toBe('f.csv line 3 (2021-01-01T00:00:00Z): rows are not sorted by time (earlier than the previous row)');
    const dup = errorOf(() =>
      parseFundingCsv(fundingCsv(['2021-01-01T00:00:00Z,0.0001,8', '2021-01-01T00:00:00Z,0.0002,8']), 'f.csv'),
    );
    expect(dup.message).toContain('line 3');
    expect(dup.message).toContain('duplicate time');
  });

  it('names the row and column of a non-numeric value', () => {
    const e = errorOf(() =>
      parseFundingCsv(fundingCsv(['2021-01-01T00:00:00Z,0.0001,8', '2021-01-01T08:00:00Z,0.01%,8']), 'f.csv'),
    );
    expect(e.message).toBe('f.csv line 3 (2021-01-01T08:00:00Z): funding_rate "0.01%" is not a number');
    const interval = errorOf(() => parseFundingCsv(fundingCsv(['2021-01-01T00:00:00Z,0.0001,eight']), 'f.csv'));
    expect(interval.message).toContain('line 2');
    expect(interval.message).toContain('funding_interval_hours "eight" is not a number');
  });

  it('refuses local times, missing columns and empty files', () => {
    expect(errorOf(() => parseFundingCsv(fundingCsv(['2021-01-01 00:00:00,0.0001,8']), 'f.csv')).message).toContain(
      'time "2021-01-01 00:00:00" is not an ISO-8601 UTC time',
    );
    expect(errorOf(() => parseFundingCsv('time,rate\n2021-01-01T00:00:00Z,1\n', 'f.csv')).message).toBe(
      'f.csv: missing column funding_rate, funding_interval_hours (header has: time, rate)',
    );
    expect(errorOf(() => parseFundingCsv('', 'f.csv')).message).toBe('f.csv: the file is empty');
  });
});

describe('price CSV validation', () => {
  it('names the row of a non-numeric price and treats an empty cell as missing', () => {
    const e = errorOf(() => parsePriceCsv(priceCsv(['2021-01-01T00:00:00Z,100,abc']), 'p.csv', 'perp_btcusdt_usdtm_close', 'spot_btcusdt_close'));
    expect(e.message).toBe('p.csv line 2 (2021-01-01T00:00:00Z): spot_btcusdt_close "abc" is not a number');
    const p = parsePriceCsv(priceCsv(['2021-01-01T00:00:00Z,,99']), 'p.csv', 'perp_btcusdt_usdtm_close', 'spot_btcusdt_close');
    expect(Number.isNaN(p.perp[0])).toBe(true);
  });

  it('names unsorted rows and a missing price column', () => {
    const e = errorOf(() =>
      parsePriceCsv(priceCsv(['2021-01-01T01:00:00Z,100,99', '2021-01-01T00:00:00Z,100,99']), 'p.csv', 'perp_btcusdt_usdtm_close', 'spot_btcusdt_close'),
    );
    expect(e.message).toContain('p.csv line 3 (2021-01-01T00:00:00Z): rows are not sorted');
    expect(errorOf(() => parsePriceCsv(priceCsv(['2021-01-01T00:00:00Z,100,99']), 'p.csv', 'mark', 'spot_btcusdt_close')).message).toContain(
      'missing column mark',
    );
  });
});

describe('joining settlements with prices', () => {
  const prices = parsePriceCsv(
    priceCsv([
      '2021-01-01T06:00:00Z,90,89',
      '2021-01-01T07:00:00Z,100,99', // closes at 08:00: the price of the 08:00 settlement
      '2021-01-01T08:00:00Z,110,109',
      '2021-01-01T13:00:00Z,150,149', // 14:00 close; the 15:00 bar (16:00 close) is missing
      '2021-01-01T23:00:00Z,200,199',
    ]),
    'p.csv', 'perp_btcusdt_usdtm_close', 'spot_btcusdt_close',
  );

  it('prices each settlement with the close of the hour ending at its stamp', () => {
    const funding = parseFundingCsv(fundingCsv(['2021-01-01T08:00:00Z,0.0001,8', '2021-01-01T16:00:00Z,0.0002,8', '2021-01-02T00:00:00Z,0.0003,8']), 'f.csv');
    const h = joinHistory(funding, prices, { maxPriceAgeHours: 2, fundingName: 'f.csv' });
    expect(Array.from(h.series.perp)).toEqual([100, 150, 200]);
    expect(Array.from(h.series.spot)).toEqual([99, 149, 199]);
    expect(Array.from(h.series.rate)).toEqual([0.0001, 0.0002, 0.0003]);
    expect(h.stalePrices).toBe(1);
    expect(h.notes).toEqual(['1 settlement(s) priced from a close up to 2 h before the stamp (missing bars)']);
  });

  it('names the settlement when its price is missing for longer than allowed', () => {
    const funding = parseFundingCsv(fundingCsv(['2021-01-01T08:00:00Z,0.0001,8', '2021-01-01T16:00:00Z,0.0002,8', '2021-01-02T00:00:00Z,0.0003,8']), 'f.csv');
    const e = errorOf(() => joinHistory(funding, prices, { maxPriceAgeHours: 1, fundingName: 'f.csv' }));
    expect(e.identifier).toBe('price_gap');
    expect(e.message).toBe(
      'f.csv line 3 (2021-01-01T16:00Z): no perp/spot close at the settlement; the latest close before it is 2021-01-01T14:00Z (older than 1 h)',
    );
  });

  it('clips to the range both files cover and says so', () => {
    const funding = parseFundingCsv(
      fundingCsv(['2021-01-01T00:00:00Z,0.0001,8', '2021-01-01T08:00:00Z,0.0002,8', '2021-01-01T16:00:00Z,0.0003,8']),
      'f.csv',
    );
    const h = joinHistory(funding, prices, { from: Date.UTC(2020, 0, 1), maxPriceAgeHours: 2, fundingName: 'f.csv' });
    expect(Array.from(h.series.ts)).toEqual([Date.UTC(2021, 0, 1, 8), Date.UTC(2021, 0, 1, 16)]);
    expect(h.notes[0]).toBe('requested range clipped to the data: settlements 2021-01-01T08:00Z .. 2021-01-01T16:00Z');
  });
});

describe('loadHistory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-test-backtest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the shipped BTC history with from inclusive and to exclusive', async () => {
    const h = await loadHistory({ symbol: 'BTC-PERP', from: '2022-01-01', to: '2022-01-02' });
    expect(h.symbol).toBe('BTC');
    expect(Array.from(h.series.ts)).toEqual([0, 8, 16].map((hh) => Date.UTC(2022, 0, 1, hh)));
    expect(Array.from(h.series.intervalHours)).toEqual([8, 8, 8]);
    // 2022-01-01T00:00 is priced by the 2021-12-31T23:00 bar of the shipped basis file.
    expect(h.series.perp[0]).toBe(46210.56);
    expect(h.series.spot[0]).toBe(46216.93);
    expect(h.notes).toEqual([]);
  });

  it('reads user CSVs with custom price columns', async () => {
    const f = join(dir, 'funding.csv');
    const p = join(dir, 'prices.csv');
    writeFileSync(f, fundingCsv(['2021-01-01T08:00:00Z,0.0001,8', '2021-01-01T16:00:00Z,0.0002,8']));
    writeFileSync(p, 'time,mark,index\n2021-01-01T07:00:00Z,100,99\n2021-01-01T15:00:00Z,101,100\n');
    const h = await loadHistory({ symbol: 'xyz', fundingCsv: f, pricesCsv: p, perpColumn: 'mark', spotColumn: 'index' });
    expect(Array.from(h.series.perp)).toEqual([100, 101]);
    expect(h.sources).toEqual({ funding: f, prices: p });
  });

  it('refuses unknown symbols, half a CSV pair, unreadable files and bad dates', async () => {
    await expect(loadHistory({ symbol: 'ETH' })).rejects.toThrow('no shipped history for ETH; shipped: BTC');
    await expect(loadHistory({ symbol: 'BTC', fundingCsv: 'x.csv' })).rejects.toThrow('pass both --funding and --prices');
    await expect(loadHistory({ symbol: 'BTC', fundingCsv: join(dir, 'nope.csv'), pricesCsv: join(dir, 'nope.csv') })).rejects.toThrow(
      /cannot read funding file .*nope\.csv \(ENOENT\)/,
    );
    await expect(loadHistory({ symbol: 'BTC', from: '2022-02-30' })).rejects.toThrow('from "2022-02-30" is not a date');
    await expect(loadHistory({ symbol: 'BTC', from: '2022-02-01', to: '2022-01-01' })).rejects.toThrow('must be before');
    await expect(loadHistory({ symbol: 'BTC', from: '2024-01-01' })).rejects.toThrow('no settlements with prices in the requested range');
  });

  it('normalises symbols and parses dates', () => {
    expect(['BTC', 'btc', 'BTCUSDT', 'BTC-PERP', 'BTC-USDT', 'btc_usdt'].map(normaliseSymbol)).toEqual(Array(6).fill('BTC'));
    expect(parseTime('2021-07-01', 'from')).toBe(Date.UTC(2021, 6, 1));
    expect(parseTime('2021-07-01T08:00:00+02:00', 'from')).toBe(Date.UTC(2021, 6, 1, 6));
    expect(() => parseTime('2021-07-01T08:00', 'from')).toThrow(UserError);
  });
});
