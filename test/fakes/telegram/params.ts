import { badRequest } from './api-error.js';

/**
 * Method parameters as received. JSON bodies keep their types; multipart, urlencoded and query
 * parameters arrive as strings, so every reader accepts both forms, as Telegram does.
 */
export type Params = Readonly<Record<string, unknown>>;

const INTEGER = /^-?\d+$/;

export function chatIdParam(p: Params, name = 'chat_id'): number {
  const v = p[name];
  if (v === undefined || v === null || v === '') throw badRequest(`${name} is empty`);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && INTEGER.test(v)) return Number(v);
  // @channelusername targets are not modelled: the stand-in only knows numeric chats.
  throw badRequest('chat not found');
}

export function intParam(p: Params, name: string): number | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && INTEGER.test(v)) return Number(v);
  throw badRequest(`invalid ${name} specified`);
}

export function requiredIntParam(p: Params, name: string, missing: string): number {
  const v = intParam(p, name);
  if (v === undefined) throw badRequest(missing);
  return v;
}

export function stringParam(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw badRequest(`field "${name}" must be of type String`);
}

export function boolParam(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1' || v === 1) return true;
  if (v === 'false' || v === '0' || v === 0) return false;
  throw badRequest(`field "${name}" must be of type Boolean`);
}

/** A parameter that is a JSON object or array: sent inline in JSON bodies, serialised in forms. */
export function jsonParam(p: Params, name: string): unknown {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw badRequest(`can't parse ${name} JSON object`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
