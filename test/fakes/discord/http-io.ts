import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json, JsonObject } from './types.js';

/** A file part of a multipart body (`files[n]`), sized from the bytes that actually arrived. */
export interface UploadedFile {
  field: string;
  /** n in `files[n]`; discord.js matches it with `attachments[].id` in payload_json. */
  index: number | null;
  filename: string;
  size: number;
  contentType: string | null;
}

export interface ParsedBody {
  /** JSON body, or payload_json of a multipart body; null when there was none. */
  json: Json | null;
  files: UploadedFile[];
  multipart: boolean;
}

export interface RestResult {
  status: number;
  body?: Json;
  headers?: Record<string, string>;
}

export class BodyError extends Error {}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { json: null, files: [], multipart: false };
  const ct = contentType ?? '';
  if (ct.startsWith('multipart/form-data')) return parseMultipart(raw, ct);
  if (!ct.startsWith('application/json')) {
    throw new BodyError(`unsupported Content-Type ${JSON.stringify(ct)}`);
  }
  try {
    return { json: JSON.parse(raw.toString('utf8')) as Json, files: [], multipart: false };
  } catch {
    throw new BodyError('body is not valid JSON');
  }
}

// The platform's own multipart parser (undici, behind Response#formData) is what Discord-grade clients are
// tested against, so it beats a hand-rolled boundary splitter.
async function parseMultipart(raw: Buffer, contentType: string): Promise<ParsedBody> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new BodyError('malformed multipart body');
  }
  let json: Json | null = null;
  const files: UploadedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') {
        try {
          json = JSON.parse(value) as Json;
        } catch {
          throw new BodyError('payload_json is not valid JSON');
        }
      }
      continue;
    }
    const m = /^files\[(\d+)\]$/.exec(field);
    files.push({
      field,
      index: m?.[1] !== undefined ? Number(m[1]) : null,
      filename: value.name,
      size: value.size,
      contentType: value.type === '' ? null : value.type,
    });
  }
  return { json, files, multipart: true };
}

export function sendResult(res: ServerResponse, r: RestResult): void {
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  if (r.body === undefined || r.status === 204) {
    res.writeHead(r.status === 200 && r.body === undefined ? 204 : r.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(r.body);
  headers['Content-Type'] = 'application/json';
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(r.status, headers);
  res.end(text);
}

/** Discord's error envelope: `{ message, code }`, plus `errors` for form validation. */
export function discordError(status: number, code: number, message: string, errors?: JsonObject): RestResult {
  return { status, body: errors ? { message, code, errors } : { message, code } };
}

export function isObject(v: Json | null | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
