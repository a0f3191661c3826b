import { z } from 'zod';

/**
 * Shapes of a persisted order approval. `pending → approved → submitted → filled | failed`, or `pending → rejected |
 * expired`; a resting order cancelled from chat goes `submitted → canceling → canceled` (or `filled`, when it filled
 * before the cancel reached the venue). `canceling` is written before the cancel is sent, so a crash in between is
 * finished by the reconcile sweep, never mistaken for a cancel by the venue. Everything stored is parsed back with
 * these schemas (Redis reads are an edge).
 */
export const APPROVAL_STATUSES = ['pending', 'approved', 'submitted', 'canceling', 'filled', 'failed', 'canceled', 'rejected', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<ApprovalStatus> = new Set(['filled', 'failed', 'canceled', 'rejected', 'expired']);

export const Person = z.object({
  /** `webhook`: a `POST /signals` source asked (never a chat account, so it can never approve). */
  platform: z.enum(['discord', 'telegram', 'console', 'webhook']),
  userId: z.string(),
  displayName: z.string(),
  /** The PERPDESK_PEOPLE name of this account, when it has one. */
  person: z.string().optional(),
});
export type Person = z.infer<typeof Person>;

/** The account: `telegram:222`. */
export function personKey(p: Pick<Person, 'platform' | 'userId'>): string {
  return `${p.platform}:${p.userId}`;
}

/** Who counts as one approver: the person (`person:alice`) when the account belongs to one, else the account. */
export function identityKey(p: Pick<Person, 'platform' | 'userId' | 'person'>): string {
  return p.person ? `person:${p.person}` : personKey(p);
}

/** For audit entries: the person and the account used, `alice via telegram:222`, or just the account. */
export function accountWords(p: Pick<Person, 'platform' | 'userId' | 'person'>): string {
  return p.person ? `${p.person} via ${personKey(p)}` : personKey(p);
}

/** One person, by PERPDESK_PEOPLE or by being the same account. */
export function samePerson(a: Pick<Person, 'platform' | 'userId' | 'person'>, b: Pick<Person, 'platform' | 'userId' | 'person'>): boolean {
  return personKey(a) === personKey(b) || (a.person !== undefined && a.person === b.person);
}

/** Exactly what will be sent to the exchange once approved, plus what the preview showed to decide on it. */
export const OrderPlan = z.object({
  kind: z.enum(['open', 'close']),
  symbol: z.string(),
  base: z.string(),
  positionSide: z.enum(['long', 'short']),
  side: z.enum(['buy', 'sell']),
  orderType: z.enum(['market', 'limit']),
  quantity: z.number().positive(),
  price: z.number().positive().nullable(),
  leverage: z.number().min(1),
  reduceOnly: z.boolean(),
  /** quantity × the worst price it can fill at (domain worstFillPrice), with the mark at preview; ≤ MAX_NOTIONAL_USD. */
  notional: z.number().nonnegative(),
  /** Mark at preview time; approval is refused if the market moved too far from it. */
  refMark: z.number().positive(),
  tickSize: z.number().positive(),
  lotSize: z.number().positive(),
});
export type OrderPlan = z.infer<typeof OrderPlan>;

export const ViewField = z.object({ name: z.string(), value: z.string(), inline: z.boolean().optional() });

/** The preview as shown, kept so every later edit of the message still shows what was approved. */
export const PreviewView = z.object({ title: z.string(), fields: z.array(ViewField), text: z.string() });
export type PreviewView = z.infer<typeof PreviewView>;

export const ApprovalData = z.object({
  id: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  requester: Person,
  chatId: z.string(),
  required: z.number().int().min(1),
  selfApprovalAllowed: z.boolean(),
  plan: OrderPlan,
  view: PreviewView,
});
export type ApprovalData = z.infer<typeof ApprovalData>;

export const Approver = Person.extend({ at: z.number() });
export type Approver = z.infer<typeof Approver>;

export const OrderResult = z.object({
  orderId: z.string(),
  status: z.enum(['new', 'partially_filled', 'filled', 'canceled', 'rejected']),
  filledQuantity: z.number(),
  avgPrice: z.number().nullable(),
  rejectReason: z.string().optional(),
});
export type OrderResult = z.infer<typeof OrderResult>;

export interface ApprovalRecord extends ApprovalData {
  status: ApprovalStatus;
  approvers: Approver[];
  /** Who rejected it (a person's name, or "PerpDesk" for automatic decisions). */
  decidedBy: string | null;
  /** Why it was rejected, expired or failed, in words for people. */
  reason: string | null;
  result: OrderResult | null;
  updatedAt: number;
}
