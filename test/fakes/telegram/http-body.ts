import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from './api-error.js';
import { parseMultipart, type MultipartFile } from './multipart.js';
import { isRecord } from './params.js';

export interface RequestInput {
  params: Record<string, unknown>;
  files: MultipartFile[];
}

/** Telegram's own cap for uploads through the cloud Bot API. */
const MAX_BODY_BYTES = 50 * 1024 * 1024;

/** Reads query string plus a JSON, urlencoded or multipart body; body fields win over the query. */
export async function readRequestInput(req: IncomingMessage, url: URL): Promise<RequestInput> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const body = await readBody(req);
  if (body.length === 0) return { params, files: [] };
  const contentType = req.headers['content-type'] ?? '';
  if (/^application\/json/i.test(contentType)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8')) as unknown;
    } catch {
      throw badRequest("can't parse JSON object");
    }
    if (!isRecord(parsed)) throw badRequest("can't parse JSON object");
    return { params: { ...params, ...parsed }, files: [] };
  }
  if (/^multipart\/form-data/i.test(contentType)) {
    const { fields, files } = parseMultipart(body, contentType);
    return { params: { ...params, ...fields }, files };
  }
  if (/^application\/x-www-form-urlencoded/i.test(contentType)) {
    return { params: { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) }, files: [] };
  }
  throw badRequest(`unsupported content type ${contentType || '(none)'}`);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'Request Entity Too Large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
