/**
 * Domain functions report bad input as a value, `{ error: kind }`, so a chat reply can name the bad field without
 * a try/catch at every call site. `unwrap` is for callers that would rather throw.
 */

export type DomainError = { error: string };

/** A domain result: the value, or the first bad field / failed rule. */
export type Result<T> = T | DomainError;

export function domainError(kind: string): DomainError {
  return { error: kind };
}

export function isDomainError(x: unknown): x is DomainError {
  return typeof x === 'object' && x !== null && typeof (x as { error?: unknown }).error === 'string';
}

export class DomainFailure extends Error {
  readonly kind: string;

  constructor(kind: string) {
    super(`domain error: ${kind}`);
    this.name = 'DomainFailure';
    this.kind = kind;
  }
}

/** Returns the value, or throws `DomainFailure` carrying the error kind. */
export function unwrap<T>(x: Result<T>): Exclude<T, DomainError> {
  if (isDomainError(x)) throw new DomainFailure(x.error);
  return x as Exclude<T, DomainError>;
}
