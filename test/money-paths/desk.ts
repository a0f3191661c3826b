/**
 * The desk under the money-path fault test, built from the same parts the app builds (buildServices, the command
 * registry and dispatcher, OrderExecutor as the place-order job runs it, runFundingHarvester as the harvester job
 * runs it) over a real Redis and the fault venue. One `Desk` is one process: a crash kills it (its Redis
 * connection and venue client refuse every later call, so nothing it had in flight takes effect after the crash
 * point) and `World.restart` builds a fresh one over the same Redis and venue, then runs the start-up reconcile.
 *
 * Two stand-ins, both at the process edge: the orders queue (BullMQ) is a job list in the world that the schedule
 * runs (job id = approval id, as BullMQ does; it survives crashes like a Redis-backed queue), and the alert pipeline's
 * entrance records what was published instead of fanning it out to chats.
 */
import type { Redis } from 'ioredis';
import { buttons, commands } from '../../commands/registry.js';
import { dispatch, dispatchButton } from '../../commands/dispatch.js';
import type { CommandContext, Invocation } from '../../commands/context.js';
import type { ButtonResult } from '../../commands/define.js';
import type { Reply } from '../../src/chat/reply.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { DEFAULT_TUNING } from '../../src/config/tuning.js';
import { silentLogger } from '../../src/log.js';
import { createRedis } from '../../src/queues/redis.js';
import { AlertService, type PublishResult } from '../../src/services/alerts/publish.js';
import type { AlertInput } from '../../src/services/alerts/types.js';
import { MessageRefs } from '../../src/services/alerts/message-refs.js';
import { alertTrack, incidentRef } from '../../src/services/alerts/render.js';
import { buildServices } from '../../src/services/build.js';
import { OrderExecutor, type ReconcileReport } from '../../src/services/orders/executor.js';
import { FlattenExecutor } from '../../src/services/flatten/executor.js';
import type { OrderQueue } from '../../src/services/orders/queue.js';
import type { Services } from '../../src/services/services.js';
import { runFundingHarvester, type HarvesterOutcome } from '../../jobs/funding-harvester.js';
import type { JobContext } from '../../jobs/job-context.js';
import { CrashError, FaultVenue, type Life } from './venue.js';

export const PEOPLE = {
  alice: { platform: 'discord', userId: '1001', displayName: 'Alice', roleIds: [] },
  bob: { platform: 'discord', userId: '2002', displayName: 'Bob', roleIds: [] },
  carol: { platform: 'discord', userId: '3003', displayName: 'Carol', roleIds: [] },
  dana: { platform: 'discord', userId: '4004', displayName: 'Dana', roleIds: [] },
} as const;
export type PersonName = keyof typeof PEOPLE;

/** The team channel everyone works in: commands are typed and proposals are shown there. */
export const TEAM_CHANNEL = '777';

export function invocation(who: PersonName): Invocation {
  const a = PEOPLE[who];
  return { platform: 'discord', actor: { ...a, roleIds: [] }, chatId: TEAM_CHANNEL };
}

const ENV: Record<string, string> = {
  EXCHANGE: 'paper',
  PERPDESK_TRADERS: 'discord:1001',
  PERPDESK_APPROVERS: 'discord:1001,discord:2002,discord:3003',
  PERPDESK_ADMINS: 'discord:4004',
  ALLOW_SELF_APPROVAL: 'false',
  HTTP_PORT: '0',
  MAX_NOTIONAL_USD: '10000',
  MAX_LEVERAGE: '5',
};

export type HarvesterMode = 'propose' | 'auto' | 'off';
export const CONFIGS: Record<HarvesterMode, Config> = {
  propose: loadConfig({ ...ENV, HARVESTER_MODE: 'propose' }),
  auto: loadConfig({ ...ENV, HARVESTER_MODE: 'auto' }),
  off: loadConfig({ ...ENV, HARVESTER_MODE: 'off' }),
};
export const CONFIG = CONFIGS.propose;

/** An alert as the harvester or executor published it. */
export interface Published {
  input: AlertInput;
  at: number;
}

/** The queue's job list: approval id → attempts made (BullMQ gives up after 6; the sweep enqueues it again). */
export const JOB_ATTEMPTS = 6;

/** What outlives a process: Redis (under `prefix`), the venue, the orders queue's jobs, published alerts, time. */
export class World {
  readonly clock: { t: number };
  readonly venue: FaultVenue;
  readonly jobs = new Map<string, number>();
  readonly published: Published[] = [];
  desk: Desk;
  crashes = 0;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    start: number,
    /** The venue account's starting balance (USD). */
    initialBalance = 100_000,
  ) {
    this.clock = { t: start };
    this.venue = new FaultVenue({ now: () => this.clock.t, initialBalance });
    this.desk = new Desk(this);
  }

  now = (): number => this.clock.t;

  /** A new process over the same Redis and venue, after the old one died; runs the start-up reconcile. */
  async restart(): Promise<ReconcileReport> {
    this.desk.life.dead = true;
    this.crashes += 1;
    this.desk = new Desk(this);
    return this.desk.sweep();
  }
}

/**
 * The fault tests' own Redis database on the run's server: their key scans (checks, clean-up) then read only their
 * own keys, not those of every other test running beside them.
 */
export function faultTestRedis(url: string): Redis {
  return createRedis(url, 'client', { db: 3 });
}

/** Names of the Lua scripts ioredis has defined on this connection (LuaScript over defineCommand). */
function scriptsOf(redis: Redis): Record<string, unknown> {
  return (redis as unknown as { scriptsSet: Record<string, unknown> }).scriptsSet;
}

/**
 * LuaScript defines its command once per connection object it is handed. Each process (and the observer) is its
 * own object over one shared connection, so a script another object defined must look undefined to it; defining
 * it again is harmless.
 */
function hideScripts(t: Redis, prop: string | symbol): boolean {
  return typeof prop === 'string' && prop in scriptsOf(t) ? false : Reflect.has(t, prop);
}

/** The shared connection as its own object for LuaScript: for the observer, which never crashes. */
export function ownView(redis: Redis): Redis {
  return new Proxy(redis, {
    has: hideScripts,
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/**
 * Redis as one process sees it: after the process died every command fails (the connection went with it). With
 * `crashAfter` set, the process dies right before its n-th next command.
 */
function processRedis(redis: Redis, life: Life & { crashAfter?: number }): Redis {
  type Fn = (...x: unknown[]) => unknown;
  /** One command reaching Redis: counts toward `crashAfter`, and fails once the process is dead. */
  const gated = (t: object, f: Fn) => (...a: unknown[]): unknown => {
    if (life.crashAfter !== undefined && --life.crashAfter <= 0) life.dead = true;
    if (life.dead) return Promise.reject(new CrashError());
    return f.apply(t, a);
  };
  const wrapPipeline = (p: object): object => {
    const proxy: object = new Proxy(p, {
      get(t, prop) {
        const v: unknown = Reflect.get(t, prop, t);
        if (typeof v !== 'function') return v;
        // Queued commands reach Redis with exec; chaining returns the proxy, so exec is never bypassed.
        if (prop === 'exec') return gated(t, v as Fn);
        return (...a: unknown[]) => {
          const r = (v as Fn).apply(t, a);
          return r === t ? proxy : r;
        };
      },
    });
    return proxy;
  };
  return new Proxy(redis, {
    has: hideScripts,
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (typeof v !== 'function') return v;
      if (prop === 'defineCommand') return (v as Fn).bind(t);
      if (prop === 'multi' || prop === 'pipeline') {
        return (...a: unknown[]) => {
          if (life.dead) throw new CrashError();
          return wrapPipeline((v as (...x: unknown[]) => object).apply(t, a));
        };
      }
      return gated(t, v as Fn);
    },
  });
}

/** The alert pipeline's entrance, recording what was published (the pipeline's delivery is tested elsewhere). */
class RecordingAlerts extends AlertService {
  constructor(
    private readonly world: World,
    private readonly life: Life,
  ) {
    super({ store: { redis: world.redis, prefix: world.prefix }, queuePrefix: `{${world.prefix}}`, now: world.now });
  }

  override async publish(input: AlertInput): Promise<PublishResult> {
    if (this.life.dead) throw new CrashError();
    this.world.published.push({ input, at: this.world.now() });
    // The pipeline would show it in the team channel: record that, so Approve / Reject clicks there count.
    if (input.incident) {
      await new MessageRefs({ redis: this.world.redis, prefix: this.world.prefix }).add(alertTrack(incidentRef(input.incident)), {
        platform: 'discord', chatId: TEAM_CHANNEL, messageId: `alert-${this.world.published.length}`,
      });
    }
    return { published: true, alertId: String(this.world.published.length) };
  }
}

/** One desk process. */
export class Desk {
  readonly life: Life & { crashAfter?: number } = { dead: false };
  readonly services: Services;
  readonly ctx: CommandContext;
  readonly executor: OrderExecutor;
  readonly flatten: FlattenExecutor;
  readonly redis: Redis;

  constructor(readonly world: World) {
    const life = this.life;
    this.redis = processRedis(world.redis, life);
    const exchange = world.venue.client(life);
    const queue = {
      prefix: `{${world.prefix}}`,
      async enqueue(id: string) {
        if (life.dead) throw new CrashError();
        if (!world.jobs.has(id)) world.jobs.set(id, 0);
      },
      async requeue(id: string) {
        if (life.dead) throw new CrashError();
        if (!world.jobs.has(id)) world.jobs.set(id, 0);
      },
      async enqueueFlatten(id: string) {
        if (life.dead) throw new CrashError();
        if (!world.jobs.has(id)) world.jobs.set(id, 0);
      },
      async close() {},
    } as unknown as OrderQueue;
    const status = async () => ({ exchange: 'paper', exchangeOk: true, redisOk: true, queues: [], schedulers: [], transports: [], startedAt: 0 });
    const built = buildServices({ redis: this.redis, prefix: world.prefix, exchange, now: world.now, status, alertDestinations: [] });
    this.services = { ...built, orderQueue: queue, alerts: new RecordingAlerts(world, life) };
    this.ctx = { ...this.services, exchange, config: CONFIG, log: silentLogger, now: world.now, commands };
    this.executor = new OrderExecutor({
      approvals: this.services.approvals,
      exchange,
      killSwitch: this.services.killSwitch,
      cascade: this.services.cascade,
      config: CONFIG,
      log: silentLogger,
      now: world.now,
    });
    this.flatten = new FlattenExecutor({ ...this.services, exchange, log: silentLogger, now: world.now });
  }

  run(who: PersonName, name: string, args: Record<string, unknown>): Promise<Reply> {
    return dispatch(this.ctx, commands, name, args, invocation(who));
  }

  click(who: PersonName, id: string): Promise<ButtonResult> {
    return dispatchButton(this.ctx, buttons, id, invocation(who));
  }

  /** The orders queue's job body: an approval's order (`a…`), or a flatten (`f…`). */
  async runJob(id: string): Promise<unknown> {
    return id.startsWith('f') ? this.flatten.run(id) : this.executor.execute(id);
  }

  /** The orders sweep (and start-up reconcile): expire, re-enqueue lost jobs, record what the venue did, resume flattens. */
  async sweep(): Promise<ReconcileReport> {
    const r = await this.executor.reconcile((id) => this.services.orderQueue.requeue(id));
    await this.flatten.sweep();
    return r;
  }

  harvest(mode: HarvesterMode): Promise<HarvesterOutcome[]> {
    const s = this.services;
    const ctx: JobContext = {
      exchange: this.ctx.exchange, config: CONFIGS[mode], log: silentLogger, now: this.world.now,
      store: { redis: this.redis, prefix: this.world.prefix }, market: s.market, samples: s.samples, killSwitch: s.killSwitch,
      cascade: s.cascade, audit: s.audit, alerts: s.alerts, harvester: s.harvester, rules: s.rules, venues: s.venues, tuning: DEFAULT_TUNING,
    };
    return runFundingHarvester(ctx);
  }
}
