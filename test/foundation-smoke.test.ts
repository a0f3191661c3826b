import { describe, it, expect, afterAll } from 'vitest';
import { testRedis, closeTestRedis } from './support/redis.js';
afterAll(closeTestRedis);
describe('test redis', () => {
  it('answers PING', async () => { expect(await testRedis().ping()).toBe('PONG'); });
});
