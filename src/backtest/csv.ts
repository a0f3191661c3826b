/**
 * Reads funding and price CSVs into sorted columns, validated row by row with zod. Every error names the file,
 * the line and the settlement time so a user can fix the row.
 */
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { UserError } from '../errors.js';

const MS_PER_HOUR = 3_600_000;

/** ISO-8601 with an explicit zone, or a bare date (UTC midnight): local time is ambiguous for settlement stamps. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Epoch ms of `YYYY-MM-DD` (UTC midnight) or an ISO time with zone; null if malformed or not a real calendar date
 * (`Date.parse` rolls 2022-02-30 over into March).
 */
export function parseIsoUtc(s: string): number | null {
  const m = ISO_TIME.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10))];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  const ms = Date.parse(m[1] === undefined ? `${s}T00:00:00Z` : s);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

const Time = z
  .string()
  .transform((s, ctx): number => {
    const ms = parseIsoUtc(s);
    if (ms === null) ctx.addIssue({ code: 'custom', message: 'is not an ISO-8601 UTC time (e.g. 2023-06-30T16:00:00Z)' });
    return ms ?? NaN;
  });
const Decimal = z
  .string()
  .regex(DECIMAL, 'is not a number')
  .transform(Number)
  .refine((v) => Number.isFinite(v), 'is not a finite number');
const IntervalHours = Decimal.refine((v) => Number.isInteger(v) && v > 0 && v <= 24, 'must be a whole number of hours in 1..24');
/** An empty price cell means "missing" (as in the shipped data): that bar is skipped, not an error. */
const OptionalPrice = z.string().transform((s, ctx): number | null => {
  if (s === '') return null;
  const v = DECIMAL.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(v)) ctx.addIssue({ code: 'custom', message: 'is not a number' });
  else if (v <= 0) ctx.addIssue({ code: 'custom', message: 'must be > 0' });
  return v;
});

const FundingRow = z.object({ time: Time, funding_rate: Decimal, funding_interval_hours: IntervalHours });
const PriceRow = z.object({ time: Time, perp: OptionalPrice, spot: OptionalPrice });

export interface FundingColumns {
  ts: Float64Array;
  rate: Float64Array;
  intervalHours: Float64Array;
  /** Source line of each row, for error messages after the join. */
  line: Int32Array;
}

export interface PriceColumns {
  /** Bar open time; the values are the closes of `[ts, ts + 1h)`. NaN where the cell was empty. */
  ts: Float64Array;
  perp: Float64Array;
  spot: Float64Array;
}

interface RawRow {
  record: string[];
  info: { lines: number };
}

function readRows(text: string, name: string, required: readonly string[]): { header: Map<string, number>; rows: RawRow[] } {
  let rows: RawRow[];
  try {
    // With info: true csv-parse returns {record, info} per row; the typings only describe the plain form.
    rows = parse(text, { info: true, skip_empty_lines: true, trim: true }) as unknown as RawRow[];
  } catch (e) {
    throw new UserError('invalid_csv', `${name}: ${(e as Error).message}`);
  }
  const head = rows.shift();
  if (!head) throw new UserError('invalid_csv', `${name}: the file is empty`);
  const header = new Map(head.record.map((c, i) => [c, i] as const));
  const missing = required.filter((c) => !header.has(c));
  if (missing.length > 0) {
    throw new UserError(
      'invalid_csv',
      `${name}: missing column ${missing.join(', ')} (header has: ${head.record.join(', ')})`,
    );
  }
  if (rows.length === 0) throw new UserError('invalid_csv', `${name}: no data rows`);
  return { header, rows };
}

function rowError(name: string, row: RawRow, timeCell: string | undefined, detail: string): UserError {
  const at = timeCell ? ` (${timeCell})` : '';
  return new UserError('invalid_csv', `${name} line ${row.info.lines}${at}: ${detail}`);
}

function zodDetail(error: z.ZodError, cells: Record<string, string | undefined>): string {
  const issue = error.issues[0];
  const col = String(issue?.path[0] ?? '');
  return `${col} "${cells[col] ?? ''}" ${issue?.message ?? 'is invalid'}`;
}

/** Rows must be strictly increasing in time. */
function orderError(name: string, row: RawRow, cell: string, t: number, prev: number): UserError | null {
  if (t === prev) return rowError(name, row, cell, 'duplicate time (same as the previous row)');
  if (t < prev) return rowError(name, row, cell, 'rows are not sorted by time (earlier than the previous row)');
  return null;
}

/**
 * Funding CSV: columns `time` (settlement), `funding_rate` (decimal per interval), `funding_interval_hours`.
 * A settlement later than one interval after the previous one is a gap: missing funding would silently flatter
 * or hurt the result, so it is an error.
 */
export function parseFundingCsv(text: string, name: string): FundingColumns {
  const { header, rows } = readRows(text, name, ['time', 'funding_rate', 'funding_interval_hours']);
  const ti = header.get('time') as number;
  const ri = header.get('funding_rate') as number;
  const hi = header.get('funding_interval_hours') as number;
  const n = rows.length;
  const out: FundingColumns = {
    ts: new Float64Array(n),
    rate: new Float64Array(n),
    intervalHours: new Float64Array(n),
    line: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const row = rows[i] as RawRow;
    const cells = { time: row.record[ti], funding_rate: row.record[ri], funding_interval_hours: row.record[hi] };
    const parsed = FundingRow.safeParse(cells);
    if (!parsed.success) throw rowError(name, row, cells.time, zodDetail(parsed.error, cells));
    const { time, funding_rate, funding_interval_hours } = parsed.data;
    if (i > 0) {
      const prev = out.ts[i - 1] as number;
      const bad = orderError(name, row, cells.time as string, time, prev);
      if (bad) throw bad;
      const maxGap = Math.max(out.intervalHours[i - 1] as number, funding_interval_hours) * MS_PER_HOUR;
      if (time - prev > maxGap) {
        const hours = (time - prev) / MS_PER_HOUR;
        throw rowError(
          name, row, cells.time,
          `gap: ${hours} h after the previous settlement (${new Date(prev).toISOString()}), expected ${funding_interval_hours} h`,
        );
      }
    }
    out.ts[i] = time;
    out.rate[i] = funding_rate;
    out.intervalHours[i] = funding_interval_hours;
    out.line[i] = row.info.lines;
  }
  return out;
}

/**
 * Price CSV of hourly bars: `time` is the bar's open, the perp and spot columns hold the bar's close (the shipped
 * basis file's convention). Missing hours are allowed; the join decides whether a settlement has a price.
 */
export function parsePriceCsv(text: string, name: string, perpColumn: string, spotColumn: string): PriceColumns {
  const { header, rows } = readRows(text, name, ['time', perpColumn, spotColumn]);
  const ti = header.get('time') as number;
  const pi = header.get(perpColumn) as number;
  const si = header.get(spotColumn) as number;
  const n = rows.length;
  const out: PriceColumns = { ts: new Float64Array(n), perp: new Float64Array(n), spot: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const row = rows[i] as RawRow;
    const cells = { time: row.record[ti], perp: row.record[pi], spot: row.record[si] };
    const parsed = PriceRow.safeParse(cells);
    if (!parsed.success) {
      const named: Record<string, string | undefined> = { time: cells.time, [perpColumn]: cells.perp, [spotColumn]: cells.spot };
      const issue = parsed.error.issues[0];
      const col = issue?.path[0] === 'perp' ? perpColumn : issue?.path[0] === 'spot' ? spotColumn : 'time';
      throw rowError(name, row, cells.time, `${col} "${named[col] ?? ''}" ${issue?.message ?? 'is invalid'}`);
    }
    const { time, perp, spot } = parsed.data;
    if (i > 0) {
      const bad = orderError(name, row, cells.time as string, time, out.ts[i - 1] as number);
      if (bad) throw bad;
    }
    out.ts[i] = time;
    out.perp[i] = perp ?? NaN;
    out.spot[i] = spot ?? NaN;
  }
  return out;
}
