import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeGolden, GOLDEN_FILE } from './golden/compute.js';

/** The vectors' tolerance: numbers match at max(1e-12, 1e-9*|expected|); everything else exactly. */
function expectClose(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    expect(Math.abs((actual as number) - expected), `${path}: ${String(actual)} vs ${expected}`).toBeLessThanOrEqual(
      Math.max(1e-12, 1e-9 * Math.abs(expected)),
    );
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, `${path}.length`).toBe(expected.length);
    expected.forEach((e, i) => expectClose((actual as unknown[])[i], e, `${path}[${i}]`));
  } else if (expected !== null && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), `${path} keys`).toEqual(Object.keys(expected).sort());
    for (const [k, e] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

describe('backtest golden file (shipped BTC history, 2021 H2)', () => {
  it('reproduces the pinned metrics, trades and equity curve', async () => {
    const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Record<string, unknown>;
    const actual = await computeGolden();
    expectClose(actual, golden, 'golden');
    // Sanity of the pin itself: a real slice with trades, so the comparison is not vacuous.
    expect((golden.metrics as { trades: number }).trades).toBeGreaterThan(5);
  });
});
