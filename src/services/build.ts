import type { Redis } from 'ioredis';
import type { Exchange } from '../exchange/port.js';
import { AuditLog } from './audit.js';
import { CascadeState } from './cascade-state.js';
import { KillSwitch } from './kill-switch.js';
import { MarketService } from './market.js';
import { MessageRefs } from './message-refs.js';
import { Notifiers } from './notifier.js';
import { SampleStore } from './samples.js';
import type { Services, StatusInfo } from './services.js';

export interface ServiceDeps {
  redis: Redis;
  prefix: string;
  exchange: Exchange;
  now: () => number;
  status: () => Promise<StatusInfo>;
}

/** Builds the Redis-backed services on one connection and key prefix. */
export function buildServices(d: ServiceDeps): Services {
  const store = { redis: d.redis, prefix: d.prefix };
  return {
    market: new MarketService(d.exchange, d.now),
    samples: new SampleStore(store),
    killSwitch: new KillSwitch(store),
    cascade: new CascadeState(store),
    audit: new AuditLog(store),
    messageRefs: new MessageRefs(store),
    notifiers: new Notifiers(),
    status: d.status,
  };
}
