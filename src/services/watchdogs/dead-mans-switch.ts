/**
 * The dead man's switch (issue 18 §2). Every process (`npm start`: role `bot`, `npm run worker`: role `worker`)
 * beats into Redis every HEARTBEAT_EVERY_MS — process id, role, host, time — and, with HEARTBEAT_URL, sends the same
 * beat to an outside monitor as an HTTP GET, so a machine that is down entirely is noticed by someone else. On each
 * beat it also looks at the others: a process silent for SILENT_INTERVALS of its beats, or a job scheduler whose job
 * has not finished a run for SILENT_INTERVALS of its periods, is reported once (alert kind `heartbeat`), and said to
 * be back once when it is: by the process itself when it beats again, by a new process of the same role when it
 * starts in its place, or by the job's next run. Whoever looks first reports (an atomic compare-and-set in Redis), so
 * two replicas and three workers still send one message.
 *
 * A process cannot report its own death: the alert is published by a surviving one and delivered by the process that
 * runs the chat transports (the other replica takes over when the leader dies). A deployment with one process learns
 * of its death only through HEARTBEAT_URL.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Secret } from '../../config/secret.js';
import { HEARTBEAT_EVERY_MS, HEARTBEAT_PING_TIMEOUT_MS, SILENT_INTERVALS } from '../../config/tuning.js';
import { utc } from '../../format.js';
import type { Logger } from '../../log.js';
import type { SchedulerInfo } from '../../queues/schedulers.js';
import type { AlertService } from '../alerts/publish.js';
import type { StatusInfo } from '../services.js';
import type { Store } from '../store.js';
import { Heartbeats, type ProcessBeat } from './heartbeats.js';

/** Reported processes that never came back are forgotten after a day (they stay in /status until then). */
const FORGET_AFTER_MS = 86_400_000;
const ALERT_COOLDOWN_MS = 7 * 86_400_000;

export interface DeadMansSwitchOptions {
  store: Store;
  alerts: AlertService;
  log: Logger;
  now?: () => number;
  role: ProcessBeat['role'];
  /** Beat interval (default HEARTBEAT_EVERY_MS; tests shorten it). */
  everyMs?: number;
  /** The job schedulers to watch (none: this process only beats and watches processes). */
  schedulers?: () => Promise<SchedulerInfo[]>;
  heartbeatUrl?: Secret;
}

export interface Silence {
  kind: 'process' | 'job';
  id: string;
  event: 'silent' | 'back';
}

export class DeadMansSwitch {
  readonly id: string;
  readonly beats: Heartbeats;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(private readonly o: DeadMansSwitchOptions) {
    this.#now = o.now ?? Date.now;
    this.#everyMs = o.everyMs ?? HEARTBEAT_EVERY_MS;
    this.#startedAt = this.#now();
    this.id = `${o.role}:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.beats = new Heartbeats(o.store);
  }

  /** First beat (and the "back" of whoever this process replaces), then one beat and one look per interval. */
  async start(): Promise<void> {
    // Redis out of reach at start-up must not stop the process: the timer keeps trying.
    try {
      await this.#adoptPredecessors();
      await this.tick();
    } catch (err) {
      this.o.log.warn({ err }, 'first heartbeat failed; retrying every interval');
    }
    this.#timer = setInterval(() => {
      // One tick at a time: a slow Redis or monitor must not pile them up.
      this.#running = this.#running.then(() => this.tick()).catch((err: unknown) => this.o.log.warn({ err }, 'heartbeat failed'));
    }, this.#everyMs);
    this.#timer.unref();
  }

  /** Stops beating and removes this process's record: a clean stop is not a death. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running.catch(() => undefined);
    await this.beats.remove(this.id).catch((err: unknown) => this.o.log.warn({ err }, 'could not remove the heartbeat record'));
  }

  /** Every process's last beat and each job's last finished run, for /status. */
  async report(): Promise<NonNullable<StatusInfo['heartbeats']>> {
    const [procs, runs] = await Promise.all([this.beats.processes(), this.beats.jobRuns()]);
    const now = this.#now();
    return {
      self: this.id,
      processes: procs.map((p) => ({ id: p.id, role: p.role, pid: p.pid, host: p.host, at: p.at, silent: now - p.at > SILENT_INTERVALS * p.everyMs })),
      jobs: Object.fromEntries(Object.entries(runs).map(([name, r]) => [name, { at: r.at, outcome: r.outcome }])),
    };
  }

  /** One beat, the outside ping, and one look at everyone else. Returns what it announced. */
  async tick(): Promise<Silence[]> {
    if (this.#stopped) return [];
    const now = this.#now();
    const out: Silence[] = [];
    const reported = await this.beats.beat({ id: this.id, role: this.o.role, pid: process.pid, host: hostname(), startedAt: this.#startedAt, at: now, everyMs: this.#everyMs });
    if (reported !== null) {
      await this.#publishBack('process', this.id, `${this.o.role} pid ${process.pid} on ${hostname()}`, reported, now, 'it beats again after a stall');
      out.push({ kind: 'process', id: this.id, event: 'back' });
    }
    void this.#ping();
    out.push(...(await this.#lookAtProcesses(now)));
    if (this.o.schedulers) out.push(...(await this.#lookAtJobs(now)));
    return out;
  }

  async #lookAtProcesses(now: number): Promise<Silence[]> {
    const out: Silence[] = [];
    for (const p of await this.beats.processes()) {
      if (p.id === this.id) continue;
      if (p.reported !== null) {
        if (now - p.at > FORGET_AFTER_MS) await this.beats.remove(p.id);
        continue;
      }
      if (now - p.at <= SILENT_INTERVALS * p.everyMs) continue;
      // Publish first under a key fixed by the silence, then mark it: a crash in between repeats the same key.
      await this.o.alerts.publish({
        key: `heartbeat:process:${p.id}:${p.at}`,
        kind: 'heartbeat',
        severity: 'critical',
        title: `${p.role === 'bot' ? 'The bot' : 'A worker'} stopped beating — ${p.role} pid ${p.pid} on ${p.host}, silent since ${utc(p.at)}`,
        text: `No heartbeat for ${seconds(now - p.at)} (it beats every ${seconds(p.everyMs)}). ${p.role === 'bot' ? 'If it was the only bot, no chat command is answered and no alert is delivered until it is back.' : 'Its share of the jobs goes to the other workers, if any.'} Check the process and its logs; /status lists every process with its last beat.`,
        fields: [
          { name: 'Process', value: `${p.role} pid ${p.pid}`, inline: true },
          { name: 'Host', value: p.host, inline: true },
          { name: 'Last beat', value: utc(p.at), inline: true },
        ],
        incident: `heartbeat:process:${p.id}:${p.at}`,
        cooldownMs: ALERT_COOLDOWN_MS,
        at: now,
      });
      const mark = await this.beats.markReported(p.id, p.raw, p.at);
      if (mark === 'reported') {
        this.o.log.error({ process: p.id, role: p.role, lastBeat: p.at }, 'process stopped beating');
        out.push({ kind: 'process', id: p.id, event: 'silent' });
      } else if (mark === 'beating') {
        // It beat again right after we read it: its own beat found no report to take back, so we say it.
        await this.#publishBack('process', p.id, `${p.role} pid ${p.pid} on ${p.host}`, p.at, now, 'it beats again');
      }
    }
    return out;
  }

  /**
   * A process of the same role starting is the one it replaces coming back: reported ones are said to be back and
   * forgotten; unreported dead ones of this host (a quick restart, never silent long enough) are forgotten quietly.
   */
  async #adoptPredecessors(): Promise<void> {
    const now = this.#now();
    for (const p of await this.beats.processes()) {
      if (p.id === this.id || p.role !== this.o.role) continue;
      if (p.reported !== null) {
        await this.#publishBack('process', p.id, `${p.role} pid ${p.pid} on ${p.host}`, p.at, now, `pid ${process.pid} on ${hostname()} started in its place`);
        await this.beats.remove(p.id);
      } else if (p.host === hostname() && now - p.at > SILENT_INTERVALS * p.everyMs) {
        await this.beats.remove(p.id);
      }
    }
  }

  async #lookAtJobs(now: number): Promise<Silence[]> {
    const out: Silence[] = [];
    const [schedulers, runs, silent] = await Promise.all([this.o.schedulers!(), this.beats.jobRuns(), this.beats.silentJobs()]);
    for (const s of schedulers) {
      if (!s.everyMs) continue;
      const last = runs[s.id];
      // Right after start-up a scheduler has had no chance to run yet: its silence counts from when we started looking.
      const since = Math.max(last?.at ?? 0, this.#startedAt);
      const reportedSince = silent[s.id];
      if (reportedSince !== undefined) {
        if (last && last.at > reportedSince) {
          await this.#publishBack('job', s.id, `job ${s.id}`, reportedSince, now, `it ran at ${utc(last.at)}`);
          await this.beats.clearJobSilent(s.id);
          out.push({ kind: 'job', id: s.id, event: 'back' });
        }
        continue;
      }
      if (now - since <= SILENT_INTERVALS * s.everyMs) continue;
      await this.o.alerts.publish({
        key: `heartbeat:job:${s.id}:${since}`,
        kind: 'heartbeat',
        severity: 'critical',
        title: `Job ${s.id} stopped running — no finished run since ${utc(since)}`,
        text: `It should run every ${seconds(s.everyMs)}; nothing has finished for ${seconds(now - since)}. Either no worker takes its jobs (every process that runs jobs is down, or the market queue is on hold) or a run hangs. Its checks (${s.id}) are not being made until it is back.`,
        fields: [
          { name: 'Job', value: s.id, inline: true },
          { name: 'Every', value: seconds(s.everyMs), inline: true },
          { name: 'Last run', value: last ? `${utc(last.at)} (${last.outcome})` : 'none seen', inline: true },
        ],
        incident: `heartbeat:job:${s.id}:${since}`,
        cooldownMs: ALERT_COOLDOWN_MS,
        at: now,
      });
      if (await this.beats.markJobSilent(s.id, since)) {
        this.o.log.error({ job: s.id, since }, 'job scheduler silent');
        out.push({ kind: 'job', id: s.id, event: 'silent' });
      }
    }
    return out;
  }

  async #publishBack(kind: 'process' | 'job', id: string, what: string, silentSince: number, now: number, how: string): Promise<void> {
    await this.o.alerts.publish({
      key: `heartbeat:${kind}:${id}:${silentSince}:back`,
      kind: 'heartbeat',
      severity: 'success',
      title: `Back — ${what} (silent since ${utc(silentSince)})`,
      text: `Back after ${seconds(now - silentSince)}: ${how}.`,
      cooldownMs: ALERT_COOLDOWN_MS,
      at: now,
    });
    this.o.log.info({ kind, id, silentSince }, 'heartbeat back');
  }

  /** The outside monitor's GET; its URL often holds a token, so it never reaches a log line or an error. */
  async #ping(): Promise<void> {
    const url = this.o.heartbeatUrl;
    if (!url) return;
    try {
      const res = await fetch(url.reveal(), { method: 'GET', signal: AbortSignal.timeout(Math.min(HEARTBEAT_PING_TIMEOUT_MS, this.#everyMs)) });
      await res.body?.cancel();
      if (!res.ok) this.o.log.warn({ status: res.status }, 'HEARTBEAT_URL answered with an error status');
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string } };
      this.o.log.warn({ error: e.cause?.code ?? e.name ?? 'error' }, 'HEARTBEAT_URL could not be reached');
    }
  }
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return s >= 120 ? `${Number((s / 60).toFixed(1))} min` : `${Number(s.toFixed(1))} s`;
}
