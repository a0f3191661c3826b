import { z } from 'zod';

/**
 * Persistent, versioned button ids: `pd1:<action>:<ref>:<expSeconds>`. Short enough for Telegram's 64-byte
 * callback_data and Discord's 100-char custom_id. Parsed once with zod; anything else is "not ours / outdated".
 */
export const BUTTON_VERSION = 'pd1';
const MAX_BYTES = 64;

export interface ButtonId {
  action: string;
  ref: string;
  /** Epoch seconds after which the button is stale (0 = never). */
  exp: number;
}

const Parsed = z.object({
  version: z.literal(BUTTON_VERSION),
  action: z.string().regex(/^[a-z]{1,8}$/),
  ref: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
  exp: z.string().regex(/^\d{1,12}$/).transform(Number),
});

export function encodeButtonId(b: ButtonId): string {
  const id = `${BUTTON_VERSION}:${b.action}:${b.ref}:${Math.floor(b.exp)}`;
  if (Buffer.byteLength(id) > MAX_BYTES) throw new Error(`button id longer than ${MAX_BYTES} bytes`);
  if (!Parsed.safeParse(split(id)).success) throw new Error('button id has invalid characters');
  return id;
}

function split(id: string): Record<string, string | undefined> {
  const [version, action, ref, exp, ...rest] = id.split(':');
  return rest.length ? {} : { version, action, ref, exp };
}

/** The decoded id, or null for an id of another version, another bot or a malformed one. */
export function parseButtonId(id: string): ButtonId | null {
  if (typeof id !== 'string' || id.length > 100) return null;
  const p = Parsed.safeParse(split(id));
  return p.success ? { action: p.data.action, ref: p.data.ref, exp: p.data.exp } : null;
}
