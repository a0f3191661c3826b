import type { Redis } from 'ioredis';

/** A Redis connection plus the key prefix every key of this deployment (or test) starts with. */
export interface Store {
  redis: Redis;
  prefix: string;
}

export function key(store: Store, ...parts: string[]): string {
  return [store.prefix, ...parts].join(':');
}
