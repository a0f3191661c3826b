/**
 * PAPER_EXCHANGE_URL: the bot and its workers share one paper market served by `npm run paper-exchange`. The remote
 * client trades through the REST API and drives the same scenario controls as the embedded paper exchange.
 */
import { describe, expect, it } from 'vitest';
import { RemotePaperExchange } from '../../src/exchange/remote-paper.js';
import { createExchange } from '../../src/exchange/factory.js';
import { loadConfig } from '../../src/config/env.js';
import { silentLogger } from '../../src/log.js';
import { scenarioControls } from '../../commands/paper.js';
import { paperServerPerTest } from '../support/paper-server.js';

const T0 = Date.UTC(2024, 0, 1, 5, 30);
const t = paperServerPerTest({ now: T0 });

describe('shared paper exchange over HTTP', () => {
  it('is what createExchange builds with EXCHANGE=paper and PAPER_EXCHANGE_URL, named paper, with scenario controls', async () => {
    const config = loadConfig({ PAPER_EXCHANGE_URL: t.server.url });
    expect(config.ALLOW_SELF_APPROVAL).toBe(true);
    const ex = await createExchange(config, { redisUrl: 'redis://unused', log: silentLogger });
    try {
      expect(ex).toBeInstanceOf(RemotePaperExchange);
      expect(ex.name).toBe('paper');
      expect(scenarioControls(ex)).not.toBeNull();
    } finally {
      await ex.close();
    }
  });

  it('moves the shared market: a price set through one client is the mark every other client and the server see', async () => {
    const a = new RemotePaperExchange({ baseUrl: t.server.url });
    const b = new RemotePaperExchange({ baseUrl: t.server.url });
    try {
      await a.setPrice('BTC-PERP', 54_321);
      expect((await b.ticker('BTC-PERP')).markPrice).toBeCloseTo(54_321, 6);
      expect((await t.paper.ticker('BTC-PERP')).markPrice).toBeCloseTo(54_321, 6);
      await a.setFillModel('ETH-PERP', 'reject');
      expect(await t.paper.fillModels()).toMatchObject({ 'ETH-PERP': expect.objectContaining({ mode: 'reject' }) });
      await a.setFunding('BTC-PERP', 0.0007);
      expect((await b.funding('BTC-PERP')).currentRate).toBeCloseTo(0.0007, 10);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reports a refused scenario call as an exchange error with the server message', async () => {
    const a = new RemotePaperExchange({ baseUrl: t.server.url });
    try {
      await expect(a.setPrice('NOPE-PERP', 1)).rejects.toMatchObject({ name: 'ExchangeError', kind: 'http' });
    } finally {
      await a.close();
    }
  });

  it('rejects a PAPER_EXCHANGE_URL that is not an http(s) URL, naming the variable', () => {
    expect(() => loadConfig({ PAPER_EXCHANGE_URL: 'paper-exchange:8090' })).toThrow(/^PAPER_EXCHANGE_URL: invalid value/);
  });
});
