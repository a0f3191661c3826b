/**
 * Every PerpDesk metric, defined once on the process's registry, which `/metrics` of the bot (HTTP_PORT) and of the
 * worker (WORKER_HTTP_PORT) serve. Code that counts something imports the metric from here and adds one line at
 * the spot where it happens; nothing else about metrics lives in the domain.
 *
 * Label values come from small fixed sets only: command and button names from the registry, platforms, outcomes,
 * reason codes written in the code, route templates (`GET /perp/funding`, `DELETE /perp/orders/:id`), job and queue
 * names. Never a user id, chat id, approval id or symbol typed by a person: each distinct label value is a time
 * series kept forever by Prometheus, and ids would also leak who uses the desk.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'perpdesk_' });

const registers = [registry];

/** Seconds, from a quick Redis read to a slow backtest or a venue at its timeout. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

// --- commands and buttons --------------------------------------------------------------------------------------

/** How a command or click ended: answered, a user mistake, a missing role, refused by the access lists, or a bug. */
export type CommandOutcome = 'ok' | 'user_error' | 'forbidden' | 'refused' | 'error';

export const commandsTotal = new Counter({
  name: 'perpdesk_commands_total',
  help: 'Chat commands handled, by command name (unknown for names not in the registry), transport and outcome',
  labelNames: ['command', 'transport', 'outcome'] as const,
  registers,
});

export const commandDuration = new Histogram({
  name: 'perpdesk_command_duration_seconds',
  help: 'Time from a command reaching the desk to its reply being ready, by command and transport',
  labelNames: ['command', 'transport'] as const,
  buckets: LATENCY_BUCKETS,
  registers,
});

export const buttonClicksTotal = new Counter({
  name: 'perpdesk_button_clicks_total',
  help: 'Button clicks handled, by button action (unknown for foreign or outdated ids), transport and outcome',
  labelNames: ['action', 'transport', 'outcome'] as const,
  registers,
});

// --- approvals and orders --------------------------------------------------------------------------------------

export const approvalTransitionsTotal = new Counter({
  name: 'perpdesk_approval_transitions_total',
  help: 'Order approvals entering a state (pending, approved, submitted, filled, failed, rejected, expired), counted once the change is persisted',
  labelNames: ['state'] as const,
  registers,
});

export const ordersPlacedTotal = new Counter({
  name: 'perpdesk_orders_placed_total',
  help: 'Orders the exchange accepted (the first answer for a client order id), by kind (open or close)',
  labelNames: ['kind'] as const,
  registers,
});

export const ordersFailedTotal = new Counter({
  name: 'perpdesk_orders_failed_total',
  help: 'Approved orders that ended failed, by reason (refused_at_send, exchange_refused, exchange_rejected, exchange_canceled, vanished)',
  labelNames: ['reason'] as const,
  registers,
});

export const ordersRefusedTotal = new Counter({
  name: 'perpdesk_orders_refused_total',
  help: 'Orders a check turned down, by stage (preview, approval, send) and reason code',
  labelNames: ['stage', 'reason'] as const,
  registers,
});

// --- alerts ----------------------------------------------------------------------------------------------------

export const alertsPublishedTotal = new Counter({
  name: 'perpdesk_alerts_published_total',
  help: 'Alerts accepted into the pipeline, by severity',
  labelNames: ['severity'] as const,
  registers,
});

export const alertsDeduplicatedTotal = new Counter({
  name: 'perpdesk_alerts_deduplicated_total',
  help: 'Alerts dropped as a repeat of one published within its cooldown, by severity',
  labelNames: ['severity'] as const,
  registers,
});

export const alertsDeliveredTotal = new Counter({
  name: 'perpdesk_alerts_delivered_total',
  help: 'Alert messages posted or edited in a chat, by platform and how (sent, edited, digest)',
  labelNames: ['platform', 'how'] as const,
  registers,
});

export const alertsDeferredTotal = new Counter({
  name: 'perpdesk_alerts_deferred_total',
  help: 'Alert sends put off, by platform and reason (paced: waiting for the chat budget; rate_limited: the platform answered 429)',
  labelNames: ['platform', 'reason'] as const,
  registers,
});

export const alertsCoalescedTotal = new Counter({
  name: 'perpdesk_alerts_coalesced_total',
  help: 'Alerts merged into a digest message because the chat had a backlog, by platform',
  labelNames: ['platform'] as const,
  registers,
});

export const alertsDroppedTotal = new Counter({
  name: 'perpdesk_alerts_dropped_total',
  help: 'Alert sends given up because the chat refuses messages for good (bot blocked or removed), by platform',
  labelNames: ['platform'] as const,
  registers,
});

// --- rate limits and the exchange ------------------------------------------------------------------------------

export const rateLimitedTotal = new Counter({
  name: 'perpdesk_rate_limited_total',
  help: 'HTTP 429 answers received, by platform (telegram, discord, exchange) and venue (the exchange client, empty for chat platforms)',
  labelNames: ['platform', 'venue'] as const,
  registers,
});

export const exchangeRequestDuration = new Histogram({
  name: 'perpdesk_exchange_request_duration_seconds',
  help: 'Exchange REST requests (each attempt), by venue and route template, until the answer or the failure',
  labelNames: ['venue', 'route'] as const,
  buckets: LATENCY_BUCKETS,
  registers,
});

export const exchangeRequestErrorsTotal = new Counter({
  name: 'perpdesk_exchange_request_errors_total',
  help: 'Exchange REST request attempts that failed, by venue, route template and kind (timeout, network, http, rate_limited, malformed, unknown_symbol, rejected)',
  labelNames: ['venue', 'route', 'kind'] as const,
  registers,
});

// --- jobs ------------------------------------------------------------------------------------------------------

/** completed, failed, skipped (a previous run of the same job still held its lock), delayed (parked for later). */
export type JobOutcome = 'completed' | 'failed' | 'skipped' | 'delayed';

export const jobRunsTotal = new Counter({
  name: 'perpdesk_job_runs_total',
  help: 'BullMQ job runs in this process, by queue, job name and outcome (completed, failed, skipped, delayed)',
  labelNames: ['queue', 'job', 'outcome'] as const,
  registers,
});

export const jobDuration = new Histogram({
  name: 'perpdesk_job_duration_seconds',
  help: 'BullMQ job run time in this process, by queue and job name',
  labelNames: ['queue', 'job'] as const,
  buckets: LATENCY_BUCKETS,
  registers,
});
