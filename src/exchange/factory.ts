import type { Config } from '../config/env.js';
import type { Logger } from '../log.js';
import type { Exchange } from './port.js';
import { PaperExchange } from './paper/paper-exchange.js';
import { PurpleFleaClient } from './purpleflea.js';
import { RemotePaperExchange } from './remote-paper.js';

/** How often the in-process paper market moves (prices, limit fills, liquidations, funding stamps). */
export const PAPER_TICK_MS = 1000;

export interface ExchangeDeps {
  redisUrl: string;
  log: Logger;
  /** Redis key prefix of the paper account (default `perpdesk`). */
  keyPrefix?: string;
}

/**
 * The exchange named by EXCHANGE: the paper exchange (embedded by default, state in Redis; or the shared one at
 * PAPER_EXCHANGE_URL) or the Purple Flea client.
 */
export async function createExchange(config: Config, deps: ExchangeDeps): Promise<Exchange> {
  if (config.EXCHANGE === 'purpleflea') {
    // loadConfig guarantees the key is present with EXCHANGE=purpleflea.
    // A Retry-After holds every process calling the venue with this key, not only the one that got it.
    return new PurpleFleaClient({ baseUrl: config.PURPLEFLEA_BASE_URL, apiKey: config.PURPLEFLEA_API_KEY!.reveal(), log: deps.log, holdRedisUrl: deps.redisUrl });
  }
  if (config.PAPER_EXCHANGE_URL) return new RemotePaperExchange({ baseUrl: config.PAPER_EXCHANGE_URL, log: deps.log });
  const paper = await PaperExchange.open({ redis: deps.redisUrl, keyPrefix: deps.keyPrefix ?? 'perpdesk', log: deps.log });
  paper.start(PAPER_TICK_MS);
  return paper;
}
