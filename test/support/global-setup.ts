import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServerHandle } from '../../src/queues/redis-server.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let handle: RedisServerHandle | undefined;
let dir: string | undefined;

/** One real redis-server for the whole run, unless REDIS_URL points at one already. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.REDIS_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'perpdesk-test-redis-'));
    handle = await startRedisServer({ dataDir: dir });
    url = handle.url;
  }
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  await handle?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
