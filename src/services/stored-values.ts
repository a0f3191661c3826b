import type { z } from 'zod';

/**
 * Reading values back out of Redis. What is stored may predate a schema change or be damaged, so a value that does
 * not parse reads as absent and the caller decides what that means, instead of a throw deep inside a command.
 */

/** JSON text as a value, or undefined when absent or not JSON. */
export function parseJson(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** JSON text checked against a schema, or null when it is not JSON or does not match. */
export function parseStored<T>(schema: z.ZodType<T>, raw: string): T | null {
  const p = schema.safeParse(parseJson(raw));
  return p.success ? p.data : null;
}

/** A flat HGETALL-style reply (field, value, field, value …) as an object. */
export function hashOf(flat: readonly string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}
