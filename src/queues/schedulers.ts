import type { Queue } from 'bullmq';

/** Names of the market jobs: scheduler id = job name, so a restart or a second process upserts, never duplicates. */
export const JOB_NAMES = {
  cascade: 'cascade-detector',
  risk: 'risk-monitor',
  harvester: 'funding-harvester',
  reminder: 'funding-reminder',
  basis: 'basis-sampler',
  rules: 'alert-rules',
  venues: 'venue-sampler',
  ledger: 'ledger',
} as const;
export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

export interface ScheduleConfig {
  CASCADE_INTERVAL_SECONDS: number;
  RISK_INTERVAL_SECONDS: number;
  HARVESTER_INTERVAL_SECONDS: number;
  HARVESTER_MODE: 'off' | 'propose' | 'auto';
  /** Real venues are configured (MARKET_VENUES): the venue sampler runs. */
  venues?: boolean;
}

/** The /basis sampler's period (domain.md §3: 48 samples of 5 minutes = 4 hours). */
export const BASIS_SAMPLE_EVERY_MS = 5 * 60_000;
/**
 * The reminder job looks for funding stamps due within its lead time every minute: stamps differ per symbol and
 * venue (1 h, 4 h, 8 h), so one short poll with a per-stamp de-dup is simpler than a cron per symbol.
 */
export const REMINDER_EVERY_MS = 60_000;

/**
 * The ledger job: records funding settlements (its samples before and after each stamp must be close to it), picks
 * up fills no answer showed, folds finished days and posts the daily summary when due.
 */
export const LEDGER_EVERY_MS = 30_000;

export interface ScheduleEntry {
  id: JobName;
  everyMs: number;
}

export function schedulePlan(c: ScheduleConfig, overrides: Partial<Record<JobName, number>> = {}): ScheduleEntry[] {
  const plan: ScheduleEntry[] = [
    { id: JOB_NAMES.cascade, everyMs: c.CASCADE_INTERVAL_SECONDS * 1000 },
    { id: JOB_NAMES.risk, everyMs: c.RISK_INTERVAL_SECONDS * 1000 },
    { id: JOB_NAMES.reminder, everyMs: REMINDER_EVERY_MS },
    { id: JOB_NAMES.basis, everyMs: BASIS_SAMPLE_EVERY_MS },
    // Chats' own /alert rules, on the cascade detector's sampling period (it keeps the OI history they read).
    { id: JOB_NAMES.rules, everyMs: c.CASCADE_INTERVAL_SECONDS * 1000 },
    // Real venues are sampled as often as the basis: enough for cascades and spreads, gentle on their rate limits.
    ...(c.venues ? [{ id: JOB_NAMES.venues, everyMs: BASIS_SAMPLE_EVERY_MS }] : []),
    { id: JOB_NAMES.ledger, everyMs: LEDGER_EVERY_MS },
    // Scheduled in every mode: with HARVESTER_MODE=off it opens nothing but still finishes a hedge whose execution
    // was interrupted by a crash, so one leg is never left on its own.
    { id: JOB_NAMES.harvester, everyMs: c.HARVESTER_INTERVAL_SECONDS * 1000 },
  ];
  return plan.map((e) => ({ ...e, everyMs: overrides[e.id] ?? e.everyMs }));
}

/**
 * Creates or updates one BullMQ job scheduler per entry (`upsertJobScheduler`, never the deprecated repeat
 * option), and removes schedulers of ours that the plan no longer has (e.g. the harvester switched off).
 * A failed iteration is not retried: the next one runs a period later with fresh data.
 */
export async function upsertSchedulers(queue: Queue, plan: ScheduleEntry[]): Promise<void> {
  for (const e of plan) {
    await queue.upsertJobScheduler(e.id, { every: e.everyMs }, {
      name: e.id,
      data: {},
      opts: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } },
    });
  }
  const wanted = new Set(plan.map((e) => e.id));
  const ours = new Set<string>(Object.values(JOB_NAMES));
  for (const s of await queue.getJobSchedulers()) {
    const id = s.key;
    if (ours.has(id) && !wanted.has(id as JobName)) await queue.removeJobScheduler(id);
  }
}

export interface SchedulerInfo {
  id: string;
  everyMs: number | null;
  next: number | null;
}

export async function listSchedulers(queue: Queue): Promise<SchedulerInfo[]> {
  const list = await queue.getJobSchedulers(0, -1, true);
  return list.map((s) => ({ id: s.key, everyMs: s.every ?? null, next: s.next ?? null }));
}
