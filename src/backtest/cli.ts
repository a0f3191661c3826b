/**
 * `npm run backtest -- --symbol BTC --from 2021-07-01 --to 2022-07-01 --min-apr 0.3`
 * Prints a result table and writes a PNG equity curve; `--json` prints only the domain.md §9 result object.
 * Bad arguments or data: one line on stderr, exit 2.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { isUserError } from '../errors.js';
import { renderEquityPng } from './chart.js';
import { DEFAULT_PERP_COLUMN, DEFAULT_SPOT_COLUMN, iso, loadHistory } from './data.js';
import { BACKTEST_DEFAULTS, runBacktest, type BacktestMetrics, type BacktestParams } from './engine.js';
import { formatTable, summaryFields } from './summary.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Show a progress bar on stderr (only when it is a terminal). */
  progress: boolean;
}

interface Options {
  symbol: string;
  from?: string;
  to?: string;
  minApr: number;
  notional: number;
  equity: number;
  perpFee: number;
  spotFee: number;
  out?: string;
  json?: boolean;
  funding?: string;
  prices?: string;
  perpColumn: string;
  spotColumn: string;
}

/** A fraction, or a percentage with `%` (`0.3` or `30%`). */
function fraction(what: string, ok: (v: number) => boolean, rule: string) {
  return (raw: string): number => {
    const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)\s*$/.exec(raw);
    const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
    if (!Number.isFinite(v) || !ok(v)) throw new InvalidArgumentError(`${what} must be ${rule}, got "${raw}"`);
    return v;
  };
}

const positive = (what: string) => fraction(what, (v) => v > 0, 'a number > 0');
const fee = (what: string) => fraction(what, (v) => v >= 0 && v < 1, 'a fraction in [0, 1) (0.0005 or 0.05%)');

function program(): Command {
  return new Command('backtest')
    .description('Backtest the funding harvester (short perp + long spot) on real settlement history.')
    .option('--symbol <symbol>', 'symbol of the shipped history (BTC), or a label for --funding/--prices', 'BTC')
    .option('--from <date>', 'first settlement, inclusive (YYYY-MM-DD or ISO time with Z)')
    .option('--to <date>', 'end, exclusive (YYYY-MM-DD or ISO time with Z)')
    .option('--min-apr <fraction>', 'entry threshold, annualised (0.5 or 50%); exit below half', positive('--min-apr'), BACKTEST_DEFAULTS.minAnnRate)
    .option('--notional <usd>', 'position size per leg in quote currency', positive('--notional'), 10_000)
    .option('--equity <usd>', 'starting equity', positive('--equity'), 10_000)
    .option('--perp-fee <fraction>', 'perp taker fee per side', fee('--perp-fee'), BACKTEST_DEFAULTS.perpFeeRate)
    .option('--spot-fee <fraction>', 'spot taker fee per side', fee('--spot-fee'), BACKTEST_DEFAULTS.spotFeeRate)
    .option('--out <png>', 'where to write the equity-curve PNG (default out/backtest-<symbol>-<from>-<to>.png)')
    .option('--json', 'print only the result object as JSON (no chart unless --out is given)')
    .option('--funding <csv>', 'funding CSV: time,funding_rate,funding_interval_hours (settlement time, UTC)')
    .option('--prices <csv>', 'hourly price CSV: time (bar open, UTC) plus perp and spot close columns')
    .option('--perp-column <name>', 'perp close column in --prices', DEFAULT_PERP_COLUMN)
    .option('--spot-column <name>', 'spot close column in --prices', DEFAULT_SPOT_COLUMN)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Returns the exit code: 0 ok, 2 bad arguments or data, 1 anything else. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const cmd = program();
  cmd.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: () => undefined });
  let opts: Options;
  try {
    cmd.parse(argv, { from: 'user' });
    opts = cmd.opts<Options>();
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help / --version already printed
      io.stderr(`backtest: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    throw e;
  }

  const bar = io.progress ? new cliProgress.SingleBar({ stream: process.stderr, format: ' {bar} {stage}', hideCursor: true }) : null;
  bar?.start(3, 0, { stage: 'loading history' });
  try {
    const history = await loadHistory({
      symbol: opts.symbol,
      ...(opts.from !== undefined ? { from: opts.from } : {}),
      ...(opts.to !== undefined ? { to: opts.to } : {}),
      ...(opts.funding !== undefined ? { fundingCsv: opts.funding } : {}),
      ...(opts.prices !== undefined ? { pricesCsv: opts.prices } : {}),
      perpColumn: opts.perpColumn,
      spotColumn: opts.spotColumn,
    });
    bar?.update(1, { stage: 'simulating' });
    const params: BacktestParams = {
      initialEquity: opts.equity,
      notional: opts.notional,
      minAnnRate: opts.minApr,
      perpFeeRate: opts.perpFee,
      spotFeeRate: opts.spotFee,
    };
    const run = runBacktest(history.series, params);
    bar?.update(2, { stage: 'rendering chart' });

    let chartPath: string | null = null;
    let textRendered = true;
    if (!opts.json || opts.out !== undefined) {
      chartPath = resolve(opts.out ?? `out/backtest-${history.symbol}-${day(history.first)}-${day(history.last)}.png`);
      const chart = await renderEquityPng({
        title: `${history.symbol} funding harvester`,
        subtitle: `${iso(history.first)} .. ${iso(history.last)}, entry APR >= ${(opts.minApr * 100).toFixed(1)} %`,
        ts: history.series.ts,
        equity: run.equity,
        trades: run.trades,
        initialEquity: opts.equity,
      });
      textRendered = chart.textRendered;
      await mkdir(dirname(chartPath), { recursive: true });
      await writeFile(chartPath, chart.png);
    }
    bar?.update(3, { stage: 'done' });
    bar?.stop();

    const notes = [...history.notes];
    if (!textRendered) notes.push('no font found: the chart was drawn without labels');
    if (opts.json) {
      io.stdout(`${JSON.stringify(resultObject(run.metrics))}\n`);
      for (const n of notes) io.stderr(`note: ${n}\n`);
      if (chartPath) io.stderr(`chart: ${chartPath}\n`);
    } else {
      const fields = summaryFields(run, params, { first: history.first, last: history.last, settlements: history.series.ts.length });
      io.stdout(`${formatTable(fields)}\n`);
      for (const n of notes) io.stdout(`note: ${n}\n`);
      io.stdout(`chart: ${chartPath}\n`);
    }
    return 0;
  } catch (e) {
    bar?.stop();
    if (isUserError(e)) {
      io.stderr(`backtest: ${e.message}\n`);
      return 2;
    }
    io.stderr(`backtest: internal error: ${(e as Error).message}\n`);
    return 1;
  }
}

/** The §9 keys in the spec's order, nothing else. */
function resultObject(m: BacktestMetrics): BacktestMetrics {
  const { finalEquity, totalReturn, apr, maxDrawdown, sharpe, trades, funding, fees, pricePnl } = m;
  return { finalEquity, totalReturn, apr, maxDrawdown, sharpe, trades, funding, fees, pricePnl };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const code = await runCli(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    progress: process.stderr.isTTY === true,
  });
  process.exitCode = code;
}
