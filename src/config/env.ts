import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { Secret } from './secret.js';
import { parsePrincipals, type Principal } from './principals.js';
import { parsePeople, type PersonEntry } from './people.js';
import { parseChats, type ChatEntry } from './chats.js';
import { parseTelegramAlertChat, type TopicMap } from './telegram-alert-chat.js';

/**
 * Every environment variable of interfaces.md §1, one schema. Money-touching values never get a silent default
 * that the contract does not state; a bad value stops start-up with one line naming the variable.
 */

const optionalString = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s === '' || s === undefined ? undefined : s));

const secret = optionalString.transform((s) => (s === undefined ? undefined : new Secret(s)));

const int = (def: number, min: number, max: number) =>
  optionalString.pipe(
    z
      .string()
      .regex(/^\d+$/, `a whole number between ${min} and ${max}`)
      .transform(Number)
      .pipe(z.number().int().min(min, `a whole number between ${min} and ${max}`).max(max, `a whole number between ${min} and ${max}`))
      .optional()
      .transform((n) => n ?? def),
  );

const positiveNumber = (def: number, what: string) =>
  optionalString.pipe(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, what)
      .transform(Number)
      .pipe(z.number().positive(what).finite(what))
      .optional()
      .transform((n) => n ?? def),
  );

const bool = optionalString.pipe(
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .optional(),
);

const url = (def: string) =>
  optionalString.pipe(
    z
      .url({ protocol: /^https?$/, error: 'an http(s) URL' })
      .optional()
      .transform((u) => (u ?? def).replace(/\/+$/, '')),
  );

/** A list variable parsed by `parse`, whose error message names the bad entry. */
const list = <T>(parse: (text: string) => T) =>
  optionalString.transform((s, ctx) => {
    try {
      return parse(s ?? '');
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const principals = list(parsePrincipals);

const snowflake = optionalString.pipe(z.string().regex(/^\d{5,25}$/, 'a Discord id (digits)').optional());

export const EnvSchema = z.object({
  EXCHANGE: optionalString.pipe(z.enum(['paper', 'purpleflea'], { error: '"paper" or "purpleflea"' }).optional().transform((v) => v ?? 'paper')),
  PURPLEFLEA_BASE_URL: url('https://purpleflea.com/api/v1'),
  PURPLEFLEA_API_KEY: secret,
  REDIS_URL: optionalString.pipe(z.string().regex(/^rediss?:\/\/.+/, 'a redis:// or rediss:// URL').optional()),
  DISCORD_TOKEN: secret,
  DISCORD_APPLICATION_ID: snowflake,
  DISCORD_GUILD_ID: snowflake,
  DISCORD_ALERT_CHANNEL_ID: snowflake,
  DISCORD_API_URL: url('https://discord.com/api'),
  TELEGRAM_BOT_TOKEN: secret,
  TELEGRAM_API_ROOT: url('https://api.telegram.org'),
  TELEGRAM_ALERT_CHAT_ID: optionalString.transform((s, ctx) => {
    if (s === undefined) return undefined;
    try {
      return parseTelegramAlertChat(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  }),
  PERPDESK_TRADERS: principals,
  PERPDESK_APPROVERS: principals,
  PERPDESK_ADMINS: principals,
  PERPDESK_VIEWERS: principals,
  PERPDESK_CHATS: list(parseChats),
  PERPDESK_PEOPLE: list(parsePeople),
  ALLOW_SELF_APPROVAL: bool,
  APPROVAL_TTL_SECONDS: int(120, 10, 86_400),
  APPROVALS_REQUIRED: int(1, 1, 10),
  MAX_LEVERAGE: positiveNumber(5, 'a positive number (e.g. 5)'),
  MAX_NOTIONAL_USD: positiveNumber(10_000, 'a positive number of USD (e.g. 10000)'),
  CASCADE_INTERVAL_SECONDS: int(30, 1, 3600),
  HARVESTER_INTERVAL_SECONDS: int(300, 5, 86_400),
  RISK_INTERVAL_SECONDS: int(30, 1, 3600),
  HARVESTER_MODE: optionalString.pipe(z.enum(['off', 'propose', 'auto'], { error: '"off", "propose" or "auto"' }).optional().transform((v) => v ?? 'propose')),
  PAPER_EXCHANGE_PORT: int(8090, 1, 65_535),
  PAPER_EXCHANGE_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'an http(s) URL ending in /api/v1' }).optional()),
  HTTP_PORT: int(8080, 0, 65_535),
  WORKER_HTTP_PORT: int(8081, 0, 65_535),
  LEADER_TTL_SECONDS: int(10, 2, 300),
  ADMIN_USER: optionalString,
  ADMIN_PASSWORD: secret,
  ADMIN_QUEUES_WRITE: bool,
  SIGNAL_SECRET: optionalString.pipe(z.string().min(16, 'at least 16 characters (it is the only thing guarding POST /signals)').optional()).transform((s) => (s === undefined ? undefined : new Secret(s))),
  MARKET_VENUES: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9]+(\s*,\s*[a-z0-9]+)*$/, 'a comma list of ccxt exchange ids (e.g. binanceusdm,bybit,okx,hyperliquid)')
      .transform((s) => [...new Set(s.split(',').map((v) => v.trim()))])
      .optional()
      .transform((v) => v ?? []),
  ),
  MARKET_VENUES_PROXY_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional()),
  MARKET_VENUES_TIMEOUT_MS: int(8000, 100, 60000),
  HEARTBEAT_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional()).transform((s) => (s === undefined ? undefined : new Secret(s))),
  DAILY_SUMMARY_HOUR: optionalString.pipe(
    z
      .string()
      .regex(/^\d{1,2}$/, 'a UTC hour from 0 to 23')
      .transform(Number)
      .pipe(z.number().int().min(0, 'a UTC hour from 0 to 23').max(23, 'a UTC hour from 0 to 23'))
      .optional(),
  ),
  DATA_DIR: optionalString.transform((v) => v ?? '.data'),
  LOG_LEVEL: optionalString.pipe(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'one of fatal, error, warn, info, debug, trace, silent' }).optional().transform((v) => v ?? 'info'),
  ),
});

export type RawEnv = z.infer<typeof EnvSchema>;

export interface Config extends Omit<RawEnv, 'ALLOW_SELF_APPROVAL' | 'TELEGRAM_ALERT_CHAT_ID'> {
  ALLOW_SELF_APPROVAL: boolean;
  /** The Telegram alert chat's id alone; its forum topics are in `telegramAlertTopics`. */
  TELEGRAM_ALERT_CHAT_ID?: string;
  /** Forum topic per alert kind in the Telegram alert chat (`TELEGRAM_ALERT_CHAT_ID=-100123:cascade=12,…`). */
  telegramAlertTopics: TopicMap;
  traders: Principal[];
  approvers: Principal[];
  admins: Principal[];
  viewers: Principal[];
  chats: ChatEntry[];
  people: PersonEntry[];
}

/** Defaults and meanings for the README table; `scripts/config-table.ts` checks they match the schema's keys. */
export const ENV_DOCS: Record<keyof RawEnv, { default: string; meaning: string }> = {
  EXCHANGE: { default: '`paper`', meaning: '`paper` (built-in simulated exchange, in process) or `purpleflea` (HTTP client)' },
  PURPLEFLEA_BASE_URL: { default: '`https://purpleflea.com/api/v1`', meaning: 'base of the exchange REST API' },
  PURPLEFLEA_API_KEY: { default: '—', meaning: 'required when `EXCHANGE=purpleflea`; sent as `X-API-Key`; never logged' },
  REDIS_URL: { default: '—', meaning: 'when unset, PerpDesk starts its own `redis-server` (data in `.data/redis`, AOF on) on a free port and stops it on exit' },
  DISCORD_TOKEN: { default: '—', meaning: 'enables the Discord transport' },
  DISCORD_APPLICATION_ID: { default: '—', meaning: 'required with `DISCORD_TOKEN`' },
  DISCORD_GUILD_ID: { default: '—', meaning: 'register slash commands on this guild at start-up (instant); else globally' },
  DISCORD_ALERT_CHANNEL_ID: { default: '—', meaning: 'team monitoring channel that receives alerts' },
  DISCORD_API_URL: { default: '`https://discord.com/api`', meaning: 'REST base handed to discord.js (`rest.api`)' },
  TELEGRAM_BOT_TOKEN: { default: '—', meaning: 'enables the Telegram transport (long polling)' },
  TELEGRAM_API_ROOT: { default: '`https://api.telegram.org`', meaning: 'handed to telegraf (`telegram.apiRoot`)' },
  TELEGRAM_ALERT_CHAT_ID: {
    default: '—',
    meaning:
      'team chat that receives every alert; other chats opt in with `/subscribe`. A forum supergroup may route kinds to topics: `-100123:cascade=12,risk=14,order=16` (kind or group = message_thread_id; kinds without a topic go to the General topic; see "Alert routing")',
  },
  PERPDESK_TRADERS: { default: '—', meaning: 'who may request orders: comma list of `discord:<user id>`, `discord-role:<role id>`, `telegram:<user id>`' },
  PERPDESK_APPROVERS: { default: '—', meaning: 'who may approve orders (same syntax)' },
  PERPDESK_ADMINS: { default: '—', meaning: 'who may pause/resume trading and change jobs (same syntax)' },
  PERPDESK_VIEWERS: { default: '—', meaning: 'who may use the read-only commands anywhere, e.g. in a private chat with the bot (same syntax); traders, approvers and admins are viewers too' },
  PERPDESK_CHATS: {
    default: '—',
    meaning: 'chats whose members may use the read-only commands: comma list of `telegram:<chat id>`, `discord-guild:<guild id>`, `discord-channel:<channel id>`; `DISCORD_GUILD_ID`, `DISCORD_ALERT_CHANNEL_ID` and `TELEGRAM_ALERT_CHAT_ID` count without being listed. Anyone else gets one line saying the desk is private',
  },
  PERPDESK_PEOPLE: { default: '—', meaning: 'several accounts of one person: `alice=discord:111+telegram:222,bob=discord:333`; approvals, four-eyes and self-approval count people, not accounts' },
  ALLOW_SELF_APPROVAL: { default: '`true` with `paper`, else `false`', meaning: "whether a requester's own click can approve" },
  APPROVAL_TTL_SECONDS: { default: '`120`', meaning: 'an unapproved order preview expires after this' },
  APPROVALS_REQUIRED: { default: '`1`', meaning: 'distinct approvers an order needs' },
  MAX_LEVERAGE: { default: '`5`', meaning: 'cap on each order’s leverage and on account leverage after it (gross notional / equity), enforced at preview, approval and submission' },
  MAX_NOTIONAL_USD: { default: '`10000`', meaning: 'notional cap per order, measured at the worst price it can fill at' },
  CASCADE_INTERVAL_SECONDS: { default: '`30`', meaning: 'cascade detector sampling period' },
  HARVESTER_INTERVAL_SECONDS: { default: '`300`', meaning: 'funding harvester period' },
  RISK_INTERVAL_SECONDS: { default: '`30`', meaning: 'risk monitor period' },
  HARVESTER_MODE: { default: '`propose`', meaning: '`off`, `propose` (proposal needs approval) or `auto`' },
  PAPER_EXCHANGE_PORT: { default: '`8090`', meaning: 'port of `npm run paper-exchange` (REST API at `/api/v1`)' },
  PAPER_EXCHANGE_URL: { default: '—', meaning: 'with `EXCHANGE=paper`: use the shared paper exchange of `npm run paper-exchange` at this URL (e.g. `http://paper-exchange:8090/api/v1`) instead of one inside the bot, so the bot and every worker trade on one paper market' },
  HTTP_PORT: { default: '`8080`', meaning: '`/healthz`, `/readyz`, `/metrics` (Prometheus)' },
  WORKER_HTTP_PORT: { default: '`8081`', meaning: '`/healthz`, `/readyz`, `/metrics` of `npm run worker`' },
  LEADER_TTL_SECONDS: { default: '`10`', meaning: 'with a chat token, replicas of `npm start` on one Redis elect one leader to run the chat transports; a dead leader is replaced within about this long plus 2 s' },
  ADMIN_USER: { default: '—', meaning: 'with `ADMIN_PASSWORD`: the queue dashboard at `/admin/queues` on `HTTP_PORT`, behind HTTP basic auth; unset = no dashboard' },
  ADMIN_PASSWORD: { default: '—', meaning: 'password of the queue dashboard; never logged' },
  ADMIN_QUEUES_WRITE: { default: '`false`', meaning: 'let the dashboard retry, promote and remove jobs (read-only by default: a hand-retried order job bypasses the approval flow)' },
  SIGNAL_SECRET: { default: '—', meaning: 'enables `POST /signals` (at least 16 characters): requests carry `X-PerpDesk-Signature: sha256=<HMAC-SHA256 of the body>` or `?token=`; never logged' },
  MARKET_VENUES: { default: '—', meaning: 'read-only market data from real venues through ccxt, comma list of ccxt ids (`binanceusdm,bybit,okx,hyperliquid`); no keys needed' },
  MARKET_VENUES_PROXY_URL: { default: '—', meaning: 'handed to ccxt as `proxyUrl`: every venue request goes to this prefix followed by the venue URL (a relay proxy; tests replay recorded responses this way)' },
  MARKET_VENUES_TIMEOUT_MS: { default: '`8000`', meaning: 'per venue: a venue that has not answered a reading (markets, funding, ticker, open interest) within this long shows "timeout" in its row; the other venues never wait for it' },
  HEARTBEAT_URL: { default: '—', meaning: 'each process heartbeat is also sent here (HTTP GET) so an outside monitor notices a machine that is down; never logged (it often holds a token)' },
  DAILY_SUMMARY_HOUR: { default: '—', meaning: 'UTC hour (0-23) at which the daily PnL and funding summary is posted to the alert destinations; unset = off' },
  DATA_DIR: { default: '`.data`', meaning: 'where the private redis-server keeps its AOF (`<DATA_DIR>/redis`) and the interactive console writes its log (`<DATA_DIR>/perpdesk.log`; without a terminal, logs go to stderr)' },
  LOG_LEVEL: { default: '`info`', meaning: 'pino level' },
};

/**
 * Parses the environment. Throws ConfigError with one line naming the first bad variable and what is expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Config {
  const known = Object.keys(EnvSchema.shape);
  const input: Record<string, string | undefined> = {};
  for (const k of known) input[k] = env[k];
  const parsed = EnvSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`${name}: invalid value — expected ${issue.message}`);
  }
  const c = parsed.data;
  if (c.EXCHANGE === 'purpleflea' && !c.PURPLEFLEA_API_KEY) {
    throw new ConfigError('PURPLEFLEA_API_KEY: required when EXCHANGE=purpleflea');
  }
  if (c.EXCHANGE === 'purpleflea' && c.PERPDESK_APPROVERS.length === 0) {
    throw new ConfigError('PERPDESK_APPROVERS: required when EXCHANGE=purpleflea (nobody could approve an order)');
  }
  if (Boolean(c.ADMIN_USER) !== Boolean(c.ADMIN_PASSWORD)) {
    throw new ConfigError(`${c.ADMIN_USER ? 'ADMIN_PASSWORD' : 'ADMIN_USER'}: required with ${c.ADMIN_USER ? 'ADMIN_USER' : 'ADMIN_PASSWORD'} (the queue dashboard needs both)`);
  }
  if (c.DISCORD_TOKEN && !c.DISCORD_APPLICATION_ID) {
    throw new ConfigError('DISCORD_APPLICATION_ID: required with DISCORD_TOKEN');
  }
  return {
    ...c,
    ALLOW_SELF_APPROVAL: c.ALLOW_SELF_APPROVAL ?? c.EXCHANGE === 'paper',
    TELEGRAM_ALERT_CHAT_ID: c.TELEGRAM_ALERT_CHAT_ID?.chatId,
    telegramAlertTopics: c.TELEGRAM_ALERT_CHAT_ID?.topics ?? {},
    traders: c.PERPDESK_TRADERS,
    approvers: c.PERPDESK_APPROVERS,
    admins: c.PERPDESK_ADMINS,
    viewers: c.PERPDESK_VIEWERS,
    chats: c.PERPDESK_CHATS,
    people: c.PERPDESK_PEOPLE,
  };
}
