/** Display rounding for people — the only place numbers are rounded for show (domain math never rounds). */

const usdFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function usd(x: number): string {
  const s = usdFmt.format(Math.abs(x));
  return `${x < 0 ? '-' : ''}$${s}`;
}

export function signedUsd(x: number): string {
  if (Object.is(x, -0) || x === 0) return '$0.00';
  return `${x > 0 ? '+' : '-'}$${usdFmt.format(Math.abs(x))}`;
}

/** One formatter per decimals count (2..8): `toLocaleString` with options builds a new one on every call. */
const priceFmts = new Map<number, Intl.NumberFormat>();

/** Price with as many decimals as the tick needs (at least 2). */
export function price(x: number, tick?: number): string {
  const decimals = tick ? Math.max(2, Math.min(8, Math.ceil(-Math.log10(tick) - 1e-9))) : x >= 1000 ? 2 : x >= 1 ? 4 : 6;
  let fmt = priceFmts.get(decimals);
  if (!fmt) priceFmts.set(decimals, (fmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })));
  return fmt.format(x);
}

export function qty(x: number, lot?: number): string {
  const decimals = lot ? Math.max(0, Math.min(8, Math.ceil(-Math.log10(lot) - 1e-9))) : 6;
  return x.toFixed(decimals);
}

const multipleFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2, useGrouping: false });

/**
 * A leverage or other multiple with at most 2 decimals: 3 -> "3x", 2.4873310298240066 -> "2.49x" (a venue reports
 * the blended leverage of a position built at two leverages as a raw quotient). `fixed` digits print always, for a
 * value compared with a cap: 5.004 -> "5.00x", not a "5x" that reads as equal to a 5x cap.
 */
export function multiple(x: number, fixed?: number): string {
  if (!Number.isFinite(x)) return '∞x';
  return `${fixed === undefined ? multipleFmt.format(x) : x.toFixed(fixed)}x`;
}

/** Fraction as percent: 0.0001 -> "0.0100%". */
export function pct(x: number, digits = 2): string {
  const v = (x * 100).toFixed(digits);
  return `${v === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : v}%`;
}

/**
 * A funding rate as percent with at least 4 decimals and 3 significant digits: an hourly 0.00125 % must not print
 * as 0.0013 % next to a predicted 0.0012 % that is the same rate a float ulp away.
 */
export function ratePct(x: number): string {
  const a = Math.abs(x * 100);
  const digits = a > 0 && Number.isFinite(a) ? Math.max(4, Math.min(8, 2 - Math.floor(Math.log10(a)))) : 4;
  return pct(x, digits);
}

export function signedPct(x: number, digits = 2): string {
  const s = pct(x, digits);
  return x > 0 ? `+${s}` : s;
}

export function utc(ts: number): string {
  return new Date(ts).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

export function compactUsd(x: number): string {
  const a = Math.abs(x);
  const sign = x < 0 ? '-' : '';
  if (a >= 1e9) return `${sign}$${(a / 1e9).toFixed(2)}B`;
  if (a >= 1e6) return `${sign}$${(a / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${sign}$${(a / 1e3).toFixed(1)}k`;
  return `${sign}$${a.toFixed(2)}`;
}

/** How long ago, coarsely: "45s", "12m", "3h 05m", "2d 4h". */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * Lines joined with newlines, at most `max` characters: what does not fit is counted in a last line ("… and 12
 * more"), so a long list still fits an alert (3,000 characters) or a chat message.
 */
export function clipLines(lines: readonly string[], max: number, more = (n: number) => `… and ${n} more`): string {
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const next = out ? `${out}\n${lines[i]}` : lines[i]!;
    const tail = i + 1 < lines.length ? more(lines.length - i - 1).length + 1 : 0;
    if (next.length + tail > max) return `${out}${out ? '\n' : ''}${more(lines.length - i)}`;
    out = next;
  }
  return out;
}
