import { describe, it, expect } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';
import { loadConfig } from '../src/config/env.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, log: createLogger('trace', stream as never) };
}

describe('log redaction', () => {
  it('never prints a token or API key set in the environment', () => {
    const secrets = { DISCORD_TOKEN: 'disc-TOKEN-123', TELEGRAM_BOT_TOKEN: '123:tg-TOKEN', PURPLEFLEA_API_KEY: 'pf-KEY-xyz' };
    const config = loadConfig({ ...secrets, DISCORD_APPLICATION_ID: '123456789' });
    const { lines, log } = capture();
    log.info({ config }, 'config loaded');
    log.info({ token: secrets.DISCORD_TOKEN, apiKey: secrets.PURPLEFLEA_API_KEY }, 'direct fields');
    log.info({ req: { headers: { 'X-API-Key': secrets.PURPLEFLEA_API_KEY, authorization: `Bot ${secrets.DISCORD_TOKEN}` } } }, 'request');
    log.error({ err: { config: { headers: { 'X-API-Key': secrets.PURPLEFLEA_API_KEY } } } }, 'axios-like error');
    log.debug({ discord: { token: secrets.TELEGRAM_BOT_TOKEN } }, 'nested');
    expect(lines.length).toBe(5);
    const all = lines.join('');
    for (const s of Object.values(secrets)) expect(all).not.toContain(s);
    expect(all).toContain('[redacted]');
  });

  it('keeps constant messages with structured fields', () => {
    const { lines, log } = capture();
    log.info({ symbol: 'BTC-PERP', sizeUsd: 1000 }, 'order approved');
    const rec = JSON.parse(lines[0]!);
    expect(rec.msg).toBe('order approved');
    expect(rec.symbol).toBe('BTC-PERP');
  });
});
