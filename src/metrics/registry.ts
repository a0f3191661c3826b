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

/** Seconds, from a quick Redis read to a slow backtest or a venue at its timeout. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> {
  return new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [registry] });
}

// --- commands and buttons --------------------------------------------------------------------------------------

/** How a command or click ended: answered, a user mistake, a missing role, refused by the access lists, or a bug. */
export type CommandOutcome = 'ok' | 'user_error' | 'forbidden' | 'refused' | 'error';

export const commandsTotal = counter(
  'perpdesk_commands_total',
  'Chat commands handled, by command name (unknown for names not in the registry), transport and outcome',
  ['command', 'transport', 'outcome'],
);

export const commandDuration = histogram(
  'perpdesk_command_duration_seconds',
  'Time from a command reaching the desk to its reply being ready, by command and transport',
  ['command', 'transport'],
);

export const buttonClicksTotal = counter(
  'perpdesk_button_clicks_total',
  'Button clicks handled, by button action (unknown for foreign or outdated ids), transport and outcome',
  ['action', 'transport', 'outcome'],
);

// --- approvals and orders --------------------------------------------------------------------------------------

export const approvalTransitionsTotal = counter(
  'perpdesk_approval_transitions_total',
  'Order approvals entering a state (pending, approved, submitted, filled, failed, rejected, expired), counted once the change is persisted',
  ['state'],
);

export const ordersPlacedTotal = counter(
  'perpdesk_orders_placed_total',
  'Approved orders the exchange took (filled, or resting on the book), once per order, by kind (open or close)',
  ['kind'],
);

export const ordersFailedTotal = counter(
  'perpdesk_orders_failed_total',
  'Approved orders that ended failed, by reason (refused_at_send, exchange_refused, exchange_rejected, exchange_canceled, vanished)',
  ['reason'],
);

export const ordersRefusedTotal = counter(
  'perpdesk_orders_refused_total',
  'Orders a check turned down, by stage (preview, approval, send) and reason code',
  ['stage', 'reason'],
);

// --- alerts ----------------------------------------------------------------------------------------------------

export const alertsPublishedTotal = counter(
  'perpdesk_alerts_published_total',
  'Alerts accepted into the pipeline, by severity',
  ['severity'],
);

export const alertsDeduplicatedTotal = counter(
  'perpdesk_alerts_deduplicated_total',
  'Alerts dropped as a repeat of one published within its cooldown, by severity',
  ['severity'],
);

export const alertsDeliveredTotal = counter(
  'perpdesk_alerts_delivered_total',
  'Alert messages posted or edited in a chat, by platform and how (sent, edited, digest)',
  ['platform', 'how'],
);

export const alertsDeferredTotal = counter(
  'perpdesk_alerts_deferred_total',
  'Alert sends put off, by platform and reason (paced: waiting for the chat budget; rate_limited: the platform answered 429)',
  ['platform', 'reason'],
);

export const alertsCoalescedTotal = counter(
  'perpdesk_alerts_coalesced_total',
  'Alerts merged into a digest message because the chat had a backlog, by platform',
  ['platform'],
);

export const alertsDroppedTotal = counter(
  'perpdesk_alerts_dropped_total',
  'Alerts given up because the chat refuses messages for good (bot blocked or removed), by platform',
  ['platform'],
);

// --- rate limits and the exchange ------------------------------------------------------------------------------

export const rateLimitedTotal = counter(
  'perpdesk_rate_limited_total',
  'HTTP 429 answers received, by platform (telegram, discord, exchange) and venue (the exchange client, empty for chat platforms)',
  ['platform', 'venue'],
);

export const exchangeRequestDuration = histogram(
  'perpdesk_exchange_request_duration_seconds',
  'Exchange REST requests (each attempt), by venue and route template, until the answer or the failure',
  ['venue', 'route'],
);

export const exchangeRequestErrorsTotal = counter(
  'perpdesk_exchange_request_errors_total',
  'Exchange REST request attempts that failed, by venue, route template and kind (timeout, network, http, rate_limited, malformed, unknown_symbol, rejected)',
  ['venue', 'route', 'kind'],
);

// --- jobs ------------------------------------------------------------------------------------------------------

/** completed, failed, skipped (a previous run of the same job still held its lock), delayed (parked for later). */
export type JobOutcome = 'completed' | 'failed' | 'skipped' | 'delayed';

export const jobRunsTotal = counter(
  'perpdesk_job_runs_total',
  'BullMQ job runs in this process, by queue, job name and outcome (completed, failed, skipped, delayed)',
  ['queue', 'job', 'outcome'],
);

export const jobDuration = histogram(
  'perpdesk_job_duration_seconds',
  'BullMQ job run time in this process, by queue and job name',
  ['queue', 'job'],
);
