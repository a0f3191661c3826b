/**
 * Per-chat alert rules (`/alert add`): a small grammar, its canonical text, and when a rule fires. Pure: the
 * symbol stays as typed (the command resolves it against the exchange), values arrive as arguments.
 *
 *   rule    := "funding" target ["apr"] op pct | "price" target op num | "buffer" op pct | "oi" target window op pct
 *   target  := symbol ["@" venue]          (venue: a ccxt id, for rules on a real venue's data)
 *   window  := <whole>m | <whole>h          (≤ 6 h, the kept OI history)
 *   op      := ">" | "<"
 *   pct     := number "%"                   num := number (no unit)
 *
 * Thresholds are kept in the unit the rule is written in (percent for `%` rules, price for `price`), so the text
 * a rule prints parses back to the same rule exactly.
 */

export type RuleOp = '>' | '<';
export type RuleMetric = 'funding' | 'funding_apr' | 'price' | 'buffer' | 'oi';

export interface RuleTarget {
  symbol: string;
  /** A real venue's market data (`BTC-PERP@bybit`); absent = the desk's own exchange. */
  venue?: string;
}

export type AlertRule =
  | { metric: 'funding' | 'funding_apr' | 'price'; target: RuleTarget; op: RuleOp; threshold: number }
  | { metric: 'buffer'; op: RuleOp; threshold: number }
  | { metric: 'oi'; target: RuleTarget; windowMinutes: number; op: RuleOp; threshold: number };

export const RULE_EXAMPLES = [
  'funding BTC-PERP > 0.05%',
  'funding BTC-PERP apr > 30%',
  'price ETH-PERP < 3000',
  'buffer < 12%',
  'oi BTC-PERP 1h < -5%',
] as const;

/** Longest OI window a rule may use: the OI samples are kept 6 hours. */
export const MAX_OI_WINDOW_MINUTES = 360;

export type RuleParse = { ok: true; rule: AlertRule } | { ok: false; error: string };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$/;
const VENUE = /^[a-z0-9]{2,30}$/;
const WINDOW = /^(\d{1,4})(m|h)$/;

function tokens(text: string): string[] {
  // Operators may touch their neighbours: `price eth<3000`.
  return text.replace(/([<>=≤≥])/g, ' $1 ').trim().split(/\s+/).filter(Boolean);
}

function bad(error: string): RuleParse {
  return { ok: false, error };
}

function parseTarget(tok: string | undefined): RuleTarget | string {
  if (tok === undefined) return 'a symbol is missing';
  const at = tok.indexOf('@');
  const symbol = at < 0 ? tok : tok.slice(0, at);
  if (!SYMBOL.test(symbol)) return `"${tok.slice(0, 40)}" is not a symbol`;
  if (at < 0) return { symbol };
  const venue = tok.slice(at + 1).toLowerCase();
  if (!VENUE.test(venue)) return `"${tok.slice(at + 1, at + 31)}" is not a venue id`;
  return { symbol, venue };
}

function parseOp(tok: string | undefined, next: string | undefined): RuleOp | string {
  if (tok === '>' || tok === '<') {
    if (next === '=') return 'the operator must be > or < (a rule fires when the value crosses, so >= and <= mean the same)';
    return tok;
  }
  if (tok === undefined) return 'the operator (> or <) is missing';
  return `the operator must be > or <, not "${tok.slice(0, 10)}"`;
}

/** A number with `%` (percent rules) or without (price); anything else names what was wrong. */
function parseValue(tok: string | undefined, unit: '%' | 'none', what: string): number | string {
  if (tok === undefined) return `the ${what} is missing`;
  const hasPct = tok.endsWith('%');
  const body = hasPct ? tok.slice(0, -1) : tok;
  if (unit === '%' && !hasPct) return `the ${what} needs a % (e.g. ${body || '5'}%)`;
  if (unit === 'none' && hasPct) return `the ${what} is a price, without % (e.g. ${body || '3000'})`;
  if (!NUMBER.test(body)) return `"${tok.slice(0, 20)}" is not a number`;
  const n = Number(body);
  if (!Number.isFinite(n)) return `"${tok.slice(0, 20)}" is not a finite number`;
  return n === 0 ? 0 : n; // -0 reads and prints as 0
}

export function parseRule(text: string): RuleParse {
  const t = tokens(text);
  const head = t[0]?.toLowerCase();
  let i = 1;
  const opAt = (): RuleOp | string => parseOp(t[i], t[i + 1]);
  const end = (rule: AlertRule, used: number): RuleParse => (t.length > used ? bad(`unexpected "${t[used]!.slice(0, 20)}" after the rule`) : { ok: true, rule });
  switch (head) {
    case 'funding': {
      const target = parseTarget(t[i++]);
      if (typeof target === 'string') return bad(target);
      const apr = t[i]?.toLowerCase() === 'apr';
      if (apr) i++;
      const op = opAt();
      if (op !== '>' && op !== '<') return bad(op);
      i++;
      const v = parseValue(t[i++], '%', apr ? 'APR' : 'rate per interval');
      if (typeof v === 'string') return bad(v);
      return end({ metric: apr ? 'funding_apr' : 'funding', target, op, threshold: v }, i);
    }
    case 'price': {
      const target = parseTarget(t[i++]);
      if (typeof target === 'string') return bad(target);
      const op = opAt();
      if (op !== '>' && op !== '<') return bad(op);
      i++;
      const v = parseValue(t[i++], 'none', 'price');
      if (typeof v === 'string') return bad(v);
      if (!(v > 0)) return bad('the price must be more than 0');
      return end({ metric: 'price', target, op, threshold: v }, i);
    }
    case 'buffer': {
      const op = opAt();
      if (op !== '>' && op !== '<') return bad(t[i] !== undefined && SYMBOL.test(t[i]!) ? 'a buffer rule watches every position: write it without a symbol, e.g. "buffer < 12%"' : op);
      i++;
      const v = parseValue(t[i++], '%', 'buffer');
      if (typeof v === 'string') return bad(v);
      if (!(v > 0 && v < 100)) return bad('the buffer must be between 0% and 100%');
      return end({ metric: 'buffer', op, threshold: v }, i);
    }
    case 'oi': {
      const target = parseTarget(t[i++]);
      if (typeof target === 'string') return bad(target);
      const w = WINDOW.exec(t[i]?.toLowerCase() ?? '');
      if (!w) return bad(`the window is missing or not like 1h or 30m${t[i] ? ` (got "${t[i]!.slice(0, 10)}")` : ''}`);
      i++;
      const windowMinutes = Number(w[1]) * (w[2] === 'h' ? 60 : 1);
      if (windowMinutes < 5 || windowMinutes > MAX_OI_WINDOW_MINUTES) return bad('the window must be between 5m and 6h');
      const op = opAt();
      if (op !== '>' && op !== '<') return bad(op);
      i++;
      const v = parseValue(t[i++], '%', 'OI change');
      if (typeof v === 'string') return bad(v);
      if (v <= -100) return bad('open interest cannot fall by 100% or more');
      return end({ metric: 'oi', target, windowMinutes, op, threshold: v }, i);
    }
    case undefined:
      return bad('the rule is empty');
    default:
      return bad(`a rule starts with funding, price, buffer or oi, not "${t[0]!.slice(0, 20)}"`);
  }
}

function targetText(t: RuleTarget): string {
  return t.venue ? `${t.symbol}@${t.venue}` : t.symbol;
}

function windowText(minutes: number): string {
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

/** The canonical text of a rule; `parseRule(formatRule(r))` gives `r` back. */
export function formatRule(r: AlertRule): string {
  const n = String(r.threshold);
  switch (r.metric) {
    case 'funding':
      return `funding ${targetText(r.target)} ${r.op} ${n}%`;
    case 'funding_apr':
      return `funding ${targetText(r.target)} apr ${r.op} ${n}%`;
    case 'price':
      return `price ${targetText(r.target)} ${r.op} ${n}`;
    case 'buffer':
      return `buffer ${r.op} ${n}%`;
    case 'oi':
      return `oi ${targetText(r.target)} ${windowText(r.windowMinutes)} ${r.op} ${n}%`;
  }
}

/**
 * How far the value must move back past the threshold before a fired rule re-arms, in the rule's own unit:
 * funding per interval max(10 % of the threshold, 0.001 points); funding APR max(10 % of the threshold, 1 point);
 * price 0.5 % of the threshold; buffer 1 point; OI change 1 point.
 */
export function rearmMargin(r: Pick<AlertRule, 'metric' | 'threshold'>): number {
  const a = Math.abs(r.threshold);
  switch (r.metric) {
    case 'funding':
      return Math.max(0.1 * a, 0.001);
    case 'funding_apr':
      return Math.max(0.1 * a, 1);
    case 'price':
      return 0.005 * a;
    case 'buffer':
    case 'oi':
      return 1;
  }
}

/** Whether the rule's condition holds for this value (in the rule's unit). */
export function ruleHolds(r: Pick<AlertRule, 'op' | 'threshold'>, value: number): boolean {
  return r.op === '>' ? value > r.threshold : value < r.threshold;
}

/** Whether the value is back past the threshold by the margin, so the rule may fire again. */
export function ruleRearms(r: Pick<AlertRule, 'metric' | 'op' | 'threshold'>, value: number): boolean {
  const m = rearmMargin(r);
  return r.op === '>' ? value <= r.threshold - m : value >= r.threshold + m;
}

/**
 * One sample of a rule: an armed rule fires when its condition holds and is then disarmed; a disarmed rule
 * re-arms once the value is back past the threshold by the margin. A new rule starts armed, so a condition that
 * already holds fires on the first sample. A missing or non-finite value changes nothing.
 */
export function stepRule(r: Pick<AlertRule, 'metric' | 'op' | 'threshold'>, armed: boolean, value: number | null): { armed: boolean; fire: boolean } {
  if (value === null || !Number.isFinite(value)) return { armed, fire: false };
  if (armed) return ruleHolds(r, value) ? { armed: false, fire: true } : { armed: true, fire: false };
  return { armed: ruleRearms(r, value), fire: false };
}

/** The unit a rule's values are shown in. */
export function ruleUnit(r: Pick<AlertRule, 'metric'>): '%' | '' {
  return r.metric === 'price' ? '' : '%';
}
