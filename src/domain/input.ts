/**
 * Reading untrusted input objects. Domain functions are called with parsed chat arguments, exchange data and test
 * vectors alike, so every field is checked at run time whatever its static type says. A bad field aborts the
 * calculation through `guard`, which turns it into `{ error: kind }`: the public functions never throw.
 */
import { domainError, type Result } from './result.js';

class BadInput {
  constructor(readonly kind: string) {}
}

/** Abort the calculation inside `guard` with `{ error: kind }`. */
export function fail(kind: string): never {
  throw new BadInput(kind);
}

export type Sign = 1 | -1;
export type Predicate = (v: number) => boolean;

export const positive: Predicate = (v) => v > 0;
export const nonNegative: Predicate = (v) => v >= 0;
/** A fraction that cannot be 1 or more, e.g. a maintenance margin rate or a minimum buffer. */
export const unitInterval: Predicate = (v) => v >= 0 && v < 1;

export function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Typed access to the fields of one input object; every getter fails with the kind it is given. */
export class Fields {
  private readonly rec: Record<string, unknown>;

  constructor(input: unknown) {
    this.rec = isRecord(input) ? input : {};
  }

  raw(key: string): unknown {
    return this.rec[key];
  }

  has(key: string): boolean {
    const v = this.rec[key];
    return v !== undefined && v !== null;
  }

  /** A required finite number satisfying `cond`. */
  num(key: string, kind: string, cond?: Predicate): number {
    const v = this.rec[key];
    if (!isFiniteNumber(v) || (cond !== undefined && !cond(v))) fail(kind);
    return v;
  }

  /** An optional number: missing or null takes `fallback`, anything else must be valid. */
  opt(key: string, kind: string, fallback: number, cond?: Predicate): number {
    return this.has(key) ? this.num(key, kind, cond) : fallback;
  }

  /** An optional number with no default. */
  optOrNull(key: string, kind: string, cond?: Predicate): number | null {
    return this.has(key) ? this.num(key, kind, cond) : null;
  }

  /** `"long"` is +1, `"short"` is -1 (domain.md §0). */
  side(key = 'side'): Sign {
    const v = this.rec[key];
    if (v === 'long') return 1;
    if (v === 'short') return -1;
    return fail('invalid_side');
  }

  /** An optional boolean flag, false when absent. */
  flag(key: string): boolean {
    const v = this.rec[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') fail('invalid_flag');
    return v;
  }

  /** A required integer in [min, Number.MAX_SAFE_INTEGER]. */
  int(key: string, kind: string, min: number): number {
    const v = this.num(key, kind);
    if (!Number.isSafeInteger(v) || v < min) fail(kind);
    return v;
  }
}

/** Run a calculation on `input`, turning a bad field into `{ error: kind }`. */
export function guard<T>(input: unknown, body: (f: Fields) => T): Result<T> {
  try {
    return body(new Fields(input));
  } catch (e) {
    if (e instanceof BadInput) return domainError(e.kind);
    throw e;
  }
}

/**
 * Every number leaving the domain goes through here: valid finite inputs can still overflow (a huge rate times
 * 8760), and -0 must never reach a reply ("-0.00 %").
 */
export function out(x: number): number {
  if (!Number.isFinite(x)) fail('out_of_range');
  return x === 0 ? 0 : x;
}

export function outOrNull(x: number | null): number | null {
  return x === null ? null : out(x);
}
