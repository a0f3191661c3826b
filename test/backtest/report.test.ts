import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { chartFont, equityPoints, equitySpec, renderEquityPng } from '../../src/backtest/chart.js';
import { backtestForChat } from '../../src/backtest/report.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the PNG IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('backtestForChat', () => {
  it('returns a title, labelled fields and a PNG for the last N days of the shipped data', async () => {
    const r = await backtestForChat({ symbol: 'btc', days: 30, minApr: 0.1, notional: 5000, equity: 10_000 });
    expect(r.title).toBe('BTC funding harvester, 30 d');
    const fields = Object.fromEntries(r.fields.map((f) => [f.name, f.value]));
    // The shipped data ends with the 2023-06-30T16:00Z settlement; 30 days back is 2023-05-31T16:00Z + 1 ms.
    expect(fields.Period).toBe('2023-06-01T00:00Z .. 2023-06-30T16:00Z (90 settlements)');
    expect(fields['Entry / exit']).toBe('APR >= 10.0 % / < 5.0 %');
    expect(fields.Trades).toBe(String(r.metrics.trades));
    expect(Object.keys(fields)).toEqual([
      'Period', 'Entry / exit', 'Notional / equity', 'Final equity', 'Total return', 'APR', 'Max drawdown',
      'Sharpe (daily, x sqrt 365)', 'Trades', 'Time in market', 'Funding', 'Fees', 'Basis (price) PnL',
    ]);
    expect(r.metrics.finalEquity).toBeCloseTo(10_000 + r.metrics.funding + r.metrics.fees + r.metrics.pricePnl, 9);
    expect(r.png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(pngSize(r.png).width).toBeGreaterThan(1000);
  });

  it('refuses bad days and parameters with a user error', async () => {
    await expect(backtestForChat({ symbol: 'BTC', days: 0 })).rejects.toThrow(UserError);
    await expect(backtestForChat({ symbol: 'BTC', days: 1.5 })).rejects.toThrow('days must be a whole number from 1 to 3650');
    await expect(backtestForChat({ symbol: 'BTC', days: 30, minApr: 0 })).rejects.toThrow('min APR must be > 0');
    await expect(backtestForChat({ symbol: 'BTC', days: 30, perpFeeRate: Number.NaN })).rejects.toThrow('perp fee must be >= 0');
    await expect(backtestForChat({ symbol: 'ETH', days: 30 })).rejects.toThrow('no shipped history for ETH');
  });
});

describe('equity chart', () => {
  it('renders title and axis text with the font it found', async () => {
    const ts = Float64Array.from({ length: 50 }, (_, i) => Date.UTC(2022, 0, 1) + i * 8 * 3_600_000);
    const equity = Float64Array.from({ length: 51 }, (_, i) => 1000 + Math.sin(i / 5) * 10);
    const chart = await renderEquityPng({ title: 'Chart title here', ts, equity, trades: [{ entryTs: ts[3] as number, exitTs: ts[9] as number }] });
    expect(chart.png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(chart.textRendered).toBe(chartFont() !== null);
    // vega writes text into the SVG only when labels are on; resvg then needs the font to draw it.
    if (chart.textRendered) expect(chart.svg).toContain('Chart title here');
    else expect(chart.svg).not.toContain('Chart title here');
  });

  it('drops every text element from the spec when no font exists', () => {
    const spec = JSON.stringify(equitySpec({ title: 'No font title', ts: [1, 2], equity: [1, 2, 3] }, null));
    expect(spec).not.toContain('No font title');
    expect(spec).toContain('"labels":false');
    expect(spec).not.toContain('"labels":true');
  });

  it('downsamples long curves but keeps every bucket extreme, the start and the end', () => {
    const n = 20_000;
    const ts = Float64Array.from({ length: n }, (_, i) => i * 3_600_000);
    const equity = Float64Array.from({ length: n + 1 }, (_, i) => 1000 + (i === 7777 ? -300 : i === 15_000 ? 400 : 0) + i * 1e-3);
    const pts = equityPoints(ts, equity, 1000);
    expect(pts.length).toBeLessThanOrEqual(1001);
    expect(pts[0]).toEqual({ t: 0, equity: 1000 });
    expect(pts[pts.length - 1]).toEqual({ t: (n - 1) * 3_600_000, equity: equity[n] });
    expect(Math.min(...pts.map((p) => p.equity))).toBe(equity[7777]);
    expect(Math.max(...pts.map((p) => p.equity))).toBe(equity[15_000]);
    expect(pts.every((p, i) => i === 0 || p.t >= (pts[i - 1] as { t: number }).t)).toBe(true);
  });
});
