/**
 * Which client order ids are PerpDesk's and what asked for them. Orders the desk places through its exchange are
 * registered before they are sent, so a new kind of order is the desk's without being listed here; these prefixes
 * let an order of ours be recognised even when only a listing shows it (e.g. after the registration was lost with
 * a Redis that had no persistence).
 */

/** Client order id → `approval:<id>`, `plan:<id>`, `flatten:<id>` or `order:<client order id>`. */
export function deskOrderRef(clientOrderId: string): string {
  const approval = /^pd-([A-Za-z0-9_-]+)$/.exec(clientOrderId);
  if (approval) return `approval:${approval[1]}`;
  const plan = /^hv-([a-z0-9]+)-\d+u?$/.exec(clientOrderId);
  if (plan) return `plan:${plan[1]}`;
  const flatten = /^fl-([A-Za-z0-9_]+)-/.exec(clientOrderId);
  if (flatten) return `flatten:${flatten[1]}`;
  return `order:${clientOrderId}`;
}

const DESK_PREFIXES = ['pd-', 'hv-', 'fl-'];

/** An id of a PerpDesk order family (orders from approvals, harvester legs, flatten legs). */
export function isDeskClientOrderId(clientOrderId: string): boolean {
  return DESK_PREFIXES.some((p) => clientOrderId.startsWith(p));
}
