import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/backtest/cli.js';
import { GOLDEN_FILE } from './golden/compute.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULT_KEYS = ['finalEquity', 'totalReturn', 'apr', 'maxDrawdown', 'sharpe', 'trades', 'funding', 'fees', 'pricePnl'];
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), progress: false });
  return { code, out, err };
}

describe('backtest CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-test-backtest-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--json prints only the result object on stdout (spawned as a process)', async () => {
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'src/backtest/cli.ts', '--json', '--symbol', 'BTC', '--from', '2021-07-01', '--to', '2022-01-01', '--min-apr', '0.3'],
      { cwd: ROOT, timeout: 60_000 },
    );
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(RESULT_KEYS);
    const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as { metrics: Record<string, unknown> };
    expect(result).toEqual(golden.metrics);
  });

  it('prints a table and writes a PNG equity curve to --out', async () => {
    const out = join(dir, 'nested', 'curve.png');
    const r = await cli(['--from', '2021-10-01', '--to', '2021-11-01', '--min-apr', '30%', '--notional', '5000', '--equity', '20000', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^Period {2,}2021-10-01T00:00Z \.\. 2021-10-31T16:00Z \(93 settlements\)$/m);
    expect(r.out).toMatch(/^Entry \/ exit {2,}APR >= 30\.0 % \/ < 15\.0 %$/m);
    expect(r.out).toMatch(/^Notional \/ equity {2,}\$5,000\.00 \/ \$20,000\.00$/m);
    expect(r.out).toMatch(/^Trades {2,}\d+$/m);
    expect(r.out).toContain(`chart: ${out}\n`);
    expect(readFileSync(out).subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
  });

  it('--json writes no chart unless --out is given, and sends notes to stderr', async () => {
    const out = join(dir, 'json.png');
    const plain = await cli(['--json', '--from', '2021-01-01', '--to', '2021-08-01']);
    expect(plain.code).toBe(0);
    expect(Object.keys(JSON.parse(plain.out) as object)).toEqual(RESULT_KEYS);
    expect(plain.err).toContain('note: requested range clipped to the data');
    const withChart = await cli(['--json', '--from', '2021-07-01', '--to', '2021-08-01', '--out', out]);
    expect(Object.keys(JSON.parse(withChart.out) as object)).toEqual(RESULT_KEYS);
    expect(withChart.err).toContain(`chart: ${out}`);
    expect(existsSync(out)).toBe(true);
  });

  const bad: [string, string[], RegExp][] = [
    ['a non-numeric threshold', ['--min-apr', 'abc'], /--min-apr must be a number > 0, got "abc"/],
    ['a zero notional', ['--notional', '0'], /--notional must be a number > 0, got "0"/],
    ['a negative fee', ['--perp-fee', '-0.1'], /--perp-fee must be a fraction in \[0, 1\)/],
    ['an unknown option', ['--bogus'], /unknown option '--bogus'/],
    ['an impossible date', ['--from', '2021-02-30'], /from "2021-02-30" is not a date/],
    ['an unknown symbol', ['--symbol', 'DOGE'], /no shipped history for DOGE/],
    ['a half CSV pair', ['--funding', 'x.csv'], /pass both --funding and --prices/],
  ];
  for (const [name, args, message] of bad) {
    it(`exits 2 with one line for ${name}`, async () => {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
      expect(r.err.startsWith('backtest: ')).toBe(true);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    });
  }
});
