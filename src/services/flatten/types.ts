import { z } from 'zod';
import { Approver, Person, PreviewView } from '../approvals/types.js';

/**
 * A flatten: the emergency exit that cancels every resting order and closes every position reduce-only, approved
 * like an order. `pending → approved → executing → done | failed`, or `pending → rejected | expired`. `failed` means
 * at least one leg did not do its part (the report says which and why); `done` that every leg did.
 */
export const FLATTEN_STATUSES = ['pending', 'approved', 'executing', 'done', 'failed', 'rejected', 'expired'] as const;
export type FlattenStatus = (typeof FLATTEN_STATUSES)[number];
export const FLATTEN_FINAL: ReadonlySet<FlattenStatus> = new Set(['done', 'failed', 'rejected', 'expired']);

/** A resting order as the preview saw it. */
export const CancelTarget = z.object({
  orderId: z.string(),
  clientOrderId: z.string(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  orderType: z.enum(['market', 'limit']),
  quantity: z.number(),
  filledQuantity: z.number(),
  price: z.number().nullable(),
  /** Who placed it, in words ("Alice", "harvester", "outside PerpDesk"). */
  origin: z.string(),
});
export type CancelTarget = z.infer<typeof CancelTarget>;

/** A position as the preview saw it, and how it would be closed then. */
export const CloseTarget = z.object({
  symbol: z.string(),
  side: z.enum(['long', 'short']),
  size: z.number().positive(),
  mark: z.number().positive(),
  /** A cascade ran in the symbol: the close goes as a limit within 0.5 % of mark (domain.md §7). */
  cascade: z.boolean(),
});
export type CloseTarget = z.infer<typeof CloseTarget>;

export const FlattenData = z.object({
  id: z.string().regex(/^f[a-z0-9]{4,31}$/),
  createdAt: z.number(),
  expiresAt: z.number(),
  requester: Person,
  chatId: z.string(),
  required: z.number().int().min(1),
  selfApprovalAllowed: z.boolean(),
  reason: z.string(),
  cancels: z.array(CancelTarget),
  closes: z.array(CloseTarget),
  view: PreviewView,
});
export type FlattenData = z.infer<typeof FlattenData>;

export const LegRequest = z.object({
  side: z.enum(['buy', 'sell']),
  orderType: z.enum(['market', 'limit']),
  quantity: z.number().positive(),
  price: z.number().positive().nullable(),
  leverage: z.number().min(1),
});
export type LegRequest = z.infer<typeof LegRequest>;

/**
 * One step of an execution, persisted before it is acted on. `sending`: the cancel or order is about to go (or went)
 * out — a resumed run looks it up by its client order id before doing anything, so it is never sent twice.
 */
export const FlattenLeg = z.object({
  index: z.number().int().nonnegative(),
  kind: z.enum(['cancel', 'close']),
  symbol: z.string(),
  /** cancel: the resting order's venue id. */
  orderId: z.string().optional(),
  /** cancel: the resting order's client order id; close: this leg's own (`fl-<flatten>-<index>`). */
  clientOrderId: z.string(),
  status: z.enum(['planned', 'sending', 'done', 'failed', 'skipped']),
  /** close: the position when the execution planned the leg. */
  positionSide: z.enum(['long', 'short']).optional(),
  positionSize: z.number().optional(),
  request: LegRequest.optional(),
  filledQuantity: z.number().optional(),
  avgPrice: z.number().nullable().optional(),
  /** What was done, or why it failed, in words. */
  note: z.string().optional(),
});
export type FlattenLeg = z.infer<typeof FlattenLeg>;

export interface FlattenRecord extends FlattenData {
  status: FlattenStatus;
  approvers: Approver[];
  decidedBy: string | null;
  /** Why it was rejected or expired, in words. */
  endReason: string | null;
  /** The execution's summary, once final. */
  result: string | null;
  updatedAt: number;
}

export function legClientId(flattenId: string, index: number): string {
  return `fl-${flattenId}-${index}`;
}
