/**
 * What the dead man's switch reads and writes in Redis: one heartbeat record per process (`npm start` is role `bot`,
 * `npm run worker` role `worker`) and the last run of each market job. A record stays after its process dies — that
 * is how the others notice — and goes when the process stops cleanly, when a process of its role starts again after
 * it was reported, or a day after it was reported.
 */
import { z } from 'zod';
import { LuaScript } from '../../queues/lua-script.js';
import { jobRunsKey } from '../../queues/workers.js';
import { key, type Store } from '../store.js';

export const ProcessBeat = z.object({
  id: z.string(),
  role: z.enum(['bot', 'worker']),
  pid: z.number().int(),
  host: z.string(),
  startedAt: z.number(),
  /** Last beat. */
  at: z.number(),
  /** The beat interval this process keeps; it counts as silent after SILENT_BEATS of them. */
  everyMs: z.number().positive(),
});
export type ProcessBeat = z.infer<typeof ProcessBeat>;

export const JobRun = z.object({ at: z.number(), outcome: z.enum(['ok', 'failed']), ms: z.number() });
export type JobRun = z.infer<typeof JobRun>;

// KEYS[1] the process hash, KEYS[2] reported silences (id → silent since). ARGV: id, record JSON. Returns the silence
// this process had been reported for ('' if none), so a process that was reported (a long stall, Redis out of reach)
// learns it and says it is back.
const BEAT = new LuaScript('pdHeartbeatBeat', `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local reported = redis.call('HGET', KEYS[2], ARGV[1]) or ''
redis.call('HDEL', KEYS[2], ARGV[1])
return reported
`, 2);

// KEYS as BEAT. ARGV: id, the record exactly as the reporter read it, silent since. Reports it only if it has not
// beaten since (the record is unchanged: else -1) and nobody reported it first (else 0): one "silent" per silence.
const REPORT = new LuaScript('pdHeartbeatReport', `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return -1 end
return redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
`, 2);

export class Heartbeats {
  constructor(private readonly store: Store) {}

  get #procs(): string {
    return key(this.store, 'watch', 'procs');
  }

  get #reported(): string {
    return key(this.store, 'watch', 'procs', 'reported');
  }

  get #jobs(): string {
    return jobRunsKey(this.store.prefix);
  }

  get #silentJobs(): string {
    return key(this.store, 'watch', 'jobs', 'silent');
  }

  /** Writes the beat; returns the silence this process had been reported for (its last beat before it), or null. */
  async beat(rec: ProcessBeat): Promise<number | null> {
    const reported = String(await BEAT.run(this.store.redis, [this.#procs, this.#reported], [rec.id, JSON.stringify(ProcessBeat.parse(rec))]));
    return reported ? Number(reported) : null;
  }

  async remove(id: string): Promise<void> {
    await this.store.redis.multi().hdel(this.#procs, id).hdel(this.#reported, id).exec();
  }

  /** Every process record, oldest start first, with when its silence was reported (if it was) and the raw record. */
  async processes(): Promise<(ProcessBeat & { reported: number | null; raw: string })[]> {
    const [all, reported] = await Promise.all([this.store.redis.hgetall(this.#procs), this.store.redis.hgetall(this.#reported)]);
    const out: (ProcessBeat & { reported: number | null; raw: string })[] = [];
    for (const [id, raw] of Object.entries(all)) {
      const p = parse(ProcessBeat, raw);
      if (p) out.push({ ...p, reported: reported[id] === undefined ? null : Number(reported[id]), raw });
    }
    return out.sort((a, b) => a.startedAt - b.startedAt);
  }

  /**
   * `reported` for the one caller that reports this silence (`raw`: the record as that caller read it), `taken` when
   * another did, `beating` when the process beat again (or stopped cleanly) since it was read.
   */
  async markReported(id: string, raw: string, silentSince: number): Promise<'reported' | 'taken' | 'beating'> {
    const r = Number(await REPORT.run(this.store.redis, [this.#procs, this.#reported], [id, raw, String(silentSince)]));
    return r === 1 ? 'reported' : r === 0 ? 'taken' : 'beating';
  }

  async jobRuns(): Promise<Record<string, JobRun>> {
    const all = await this.store.redis.hgetall(this.#jobs);
    const out: Record<string, JobRun> = {};
    for (const [name, raw] of Object.entries(all)) {
      const r = parse(JobRun, raw);
      if (r) out[name] = r;
    }
    return out;
  }

  /** Jobs reported silent: name → the last run (or start-up baseline) they were silent since. */
  async silentJobs(): Promise<Record<string, number>> {
    const all = await this.store.redis.hgetall(this.#silentJobs);
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Number(v)]));
  }

  /** Records a reported silence; false when someone else recorded it first. */
  async markJobSilent(name: string, since: number): Promise<boolean> {
    return (await this.store.redis.hsetnx(this.#silentJobs, name, String(since))) === 1;
  }

  async clearJobSilent(name: string): Promise<void> {
    await this.store.redis.hdel(this.#silentJobs, name);
  }
}

function parse<T>(schema: z.ZodType<T>, raw: string): T | null {
  try {
    const p = schema.safeParse(JSON.parse(raw));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}
