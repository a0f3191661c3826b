/**
 * BullMQ naming. Every queue of a deployment shares one hash-tagged prefix (`{perpdesk}` by default) so all its
 * keys land in one Redis Cluster slot and Lua scripts keep working when a team moves to a cluster.
 * Tests pass a unique prefix per test.
 */
export const DEFAULT_QUEUE_PREFIX = '{perpdesk}';

export function queuePrefix(name = 'perpdesk'): string {
  return `{${name}}`;
}

export const QUEUES = {
  /** Approved orders to place; job id = approval id. */
  orders: 'orders',
  /** Market jobs run by schedulers: cascade detector, risk monitor, harvester, funding reminder. */
  market: 'market',
  /** Outbound chat messages, one queue per destination kind; see src/services/alerts/publish.ts. */
  notify: 'notify',
  /** Edits of order previews for the process with the chat transports (src/services/approvals/preview-edits.ts). */
  previews: 'previews',
} as const;
