import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';
import type { BotApi } from './bot-api.js';
import { readRequestInput, type RequestInput } from './http-body.js';
import type { TgUpdate } from './types.js';

const ROUTE = /^\/bot([^/]+)\/([A-Za-z0-9_]+)\/?$/;

/** HTTP face of the Bot API: `POST <apiRoot>/bot<token>/<method>`, answered with Telegram's envelope. */
export function createBotApiServer(api: BotApi, token: string): Server {
  return createServer((req, res) => {
    handle(api, token, req, res).catch((e: unknown) => {
      // A bug in the stand-in must surface in the test, not hang it: answer 500 like Telegram's front.
      const description = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) send(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${description}` });
    });
  });
}

async function handle(api: BotApi, token: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const route = ROUTE.exec(url.pathname);
  if (route === null) {
    send(res, 404, new ApiError(404, 'Not Found').body());
    return;
  }
  const [, givenToken = '', method = ''] = route;
  if (givenToken !== token) {
    send(res, 401, new ApiError(401, 'Unauthorized').body());
    return;
  }
  let input: RequestInput = { params: {}, files: [] };
  try {
    input = await readRequestInput(req, url);
    const result =
      method.toLowerCase() === 'getupdates' ? await longPoll(api, input, res) : api.call(method, input.params, input.files);
    if (result === CLIENT_GONE) return;
    record(api, method, input, 200);
    send(res, 200, { ok: true, result });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    record(api, method, input, e.code, e.description);
    send(res, e.code, e.body());
  }
}

const CLIENT_GONE = Symbol('client gone');

/** Holds the request until updates arrive or `timeout` passes; a poller that hangs up frees the slot. */
async function longPoll(api: BotApi, input: RequestInput, res: ServerResponse): Promise<TgUpdate[] | typeof CLIENT_GONE> {
  const { result, cancel } = api.poll(input.params);
  let gone = false;
  const onClose = (): void => {
    if (res.writableEnded) return;
    gone = true;
    cancel();
  };
  res.on('close', onClose);
  const updates = await result;
  res.off('close', onClose);
  return gone ? CLIENT_GONE : updates;
}

function record(api: BotApi, method: string, input: RequestInput, status: number, description?: string): void {
  api.calls.push({
    method,
    params: { ...input.params },
    files: input.files.map((f) => ({ field: f.field, filename: f.filename, size: f.data.length, contentType: f.contentType })),
    status,
    ...(description === undefined ? {} : { description }),
    at: api.now(),
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}
