/**
 * A trade signal (`POST /signals`) becomes an order preview that people approve, exactly like `/order`: the same
 * preview and checks (previewOpen), the same persisted approval (four-eyes, expiry, self-approval), and Approve /
 * Reject posted to the alert destinations. A signal never places an order by itself.
 *
 * A signal with an `id` gets an approval id derived from it, and the approval store creates an id at most once
 * (atomically, in Redis): a repeated id, also one that races the first, returns the first approval.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import { UserError } from '../../errors.js';
import { ordersRefusedTotal } from '../../metrics/registry.js';
import type { AlertService } from '../alerts/publish.js';
import type { AuditLog } from '../audit.js';
import type { Logger } from '../../log.js';
import { APPROVE_ACTION, REJECT_ACTION, renderApproval } from '../approvals/render.js';
import { causeOf, newApprovalId, planWords, type ApprovalRecord, type ApprovalStore, type Person } from '../approvals/store.js';
import { previewOpen, type Preview, type PreviewDeps } from '../orders/preview.js';

/** A source names who sends (`?source=tradingview`), or is the sender's address. */
export const SOURCE = /^[A-Za-z0-9_.:-]{1,60}$/;

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/**
 * A number: TradingView placeholders arrive as JSON numbers or, when quoted in the alert template, as decimal
 * strings. NaN, Infinity and anything else are refused with the field named.
 */
const Num = (name: string) =>
  z.unknown().transform((v, ctx): number => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v.trim()) : undefined;
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: v === undefined ? `${name} is missing` : `${name} must be a number` });
      return z.NEVER;
    }
    if (!Number.isFinite(n)) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a finite number` });
      return z.NEVER;
    }
    return n;
  });

export const SignalBody = z.object({
  symbol: z.string({ error: 'symbol is missing' }).trim().min(1, 'symbol is missing').max(40, 'symbol is too long'),
  // TradingView's {{strategy.order.action}} says buy / sell.
  side: z.string({ error: 'side is missing' }).trim().toLowerCase()
    .transform((s) => (s === 'buy' ? 'long' : s === 'sell' ? 'short' : s))
    .pipe(z.enum(['long', 'short'], { error: 'side must be long, short, buy or sell' })),
  size_usd: Num('size_usd').refine((n) => n > 0, 'size_usd must be more than 0'),
  leverage: Num('leverage').refine((n) => n >= 1, 'leverage must be at least 1'),
  price: Num('price').refine((n) => n > 0, 'price must be more than 0').optional(),
  id: z.string().trim().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'id must be 1-64 letters, digits or _ . : -').optional(),
  comment: z.string().max(200, 'comment is too long (200 characters at most)').optional(),
}, { error: 'the body must be a JSON object' });
export type SignalBody = z.infer<typeof SignalBody>;

export type SignalOutcome =
  | { kind: 'created'; approval: ApprovalRecord }
  | { kind: 'replayed'; approval: ApprovalRecord }
  | { kind: 'refused'; reason: string }
  | { kind: 'blocked'; reasons: string[] };

export interface SignalIntakeDeps {
  preview: PreviewDeps;
  approvals: ApprovalStore;
  alerts: AlertService;
  audit: AuditLog;
  config: Pick<Config, 'APPROVAL_TTL_SECONDS' | 'APPROVALS_REQUIRED' | 'ALLOW_SELF_APPROVAL'>;
  log: Logger;
  now(): number;
}

/** Where a signal's approval shows as asked from: no chat, so no click counts there. */
const SIGNAL_CHAT = 'signals';

/** The approval id of a signal id: a letter, then hex (fits button ids, BullMQ job ids and client_order_id). */
export function signalApprovalId(signalId: string): string {
  return `s${createHash('sha256').update(signalId).digest('hex').slice(0, 24)}`;
}

export function signalRequester(source: string): Person {
  return { platform: 'webhook', userId: source, displayName: `signal ${source}` };
}

export class SignalIntake {
  constructor(private readonly d: SignalIntakeDeps) {}

  async submit(body: SignalBody, source: string): Promise<SignalOutcome> {
    const id = body.id === undefined ? undefined : signalApprovalId(body.id);
    if (id) {
      const first = await this.d.approvals.get(id);
      if (first) return this.#replayed(first);
    }
    const requester = signalRequester(source);
    let preview: Preview;
    try {
      preview = await previewOpen(this.d.preview, {
        symbol: body.symbol, side: body.side, sizeUsd: body.size_usd, leverage: body.leverage,
        ...(body.price === undefined ? {} : { price: body.price }),
      });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      ordersRefusedTotal.inc({ stage: 'preview', reason: e.identifier });
      await this.d.audit.append({ ts: this.d.now(), ...causeOf(requester), action: 'order.preview_refused', subject: body.symbol.slice(0, 40), detail: `${signalWords(body, source)}: ${e.message}` });
      return { kind: 'refused', reason: e.message };
    }
    if (preview.blockers.length) {
      for (const reason of preview.reasons) ordersRefusedTotal.inc({ stage: 'preview', reason });
      await this.d.audit.append({
        ts: this.d.now(), ...causeOf(requester), action: 'order.preview_blocked', subject: preview.plan.symbol,
        detail: `${planWords(preview)} (${signalWords(body, source)}): ${preview.blockers.join('; ')}`,
      });
      return { kind: 'blocked', reasons: preview.blockers };
    }
    const now = this.d.now();
    let rec: ApprovalRecord;
    try {
      rec = await this.d.approvals.create({
        id: id ?? newApprovalId(now),
        createdAt: now,
        expiresAt: now + this.d.config.APPROVAL_TTL_SECONDS * 1000,
        requester,
        chatId: SIGNAL_CHAT,
        required: this.d.config.APPROVALS_REQUIRED,
        selfApprovalAllowed: this.d.config.ALLOW_SELF_APPROVAL,
        plan: preview.plan,
        view: signalView(preview, body, source),
      });
    } catch (e) {
      // The same id arrived twice at once: the other request created it first.
      const first = id ? await this.d.approvals.get(id) : null;
      if (first) return this.#replayed(first);
      throw e;
    }
    await this.#post(rec);
    this.d.log.info({ approvalId: rec.id, symbol: rec.plan.symbol, side: rec.plan.side, quantity: rec.plan.quantity, source }, 'signal preview offered');
    return { kind: 'created', approval: rec };
  }

  /**
   * A repeat of a signal whose approval is still pending posts its preview again in case the first request died
   * between saving the approval and posting it; the alert key makes that a no-op when it was posted.
   */
  async #replayed(rec: ApprovalRecord): Promise<SignalOutcome> {
    if (rec.status === 'pending' && rec.expiresAt > this.d.now()) await this.#post(rec);
    return { kind: 'replayed', approval: rec };
  }

  async #post(rec: ApprovalRecord): Promise<void> {
    const shown = renderApproval(rec);
    const exp = Math.ceil(rec.expiresAt / 1000);
    await this.d.alerts.publish({
      key: `signal:${rec.id}`,
      kind: 'signal',
      severity: 'warning',
      symbol: rec.plan.symbol,
      title: shown.title ?? rec.view.title,
      text: (shown.text ?? '').slice(0, 3000),
      fields: shown.fields?.slice(0, 20),
      buttons: [
        { action: APPROVE_ACTION, ref: rec.id, exp, label: 'Approve', style: 'success' },
        { action: REJECT_ACTION, ref: rec.id, exp, label: 'Reject', style: 'danger' },
      ],
      incident: `signal:${rec.id}`,
      track: rec.id,
      // Posted once for the life of the preview, however often the signal is repeated.
      cooldownMs: Math.max(60_000, rec.expiresAt - this.d.now() + 60_000),
      at: rec.createdAt,
    });
  }
}

function signalWords(body: SignalBody, source: string): string {
  return `signal from ${source}${body.id ? ` id ${body.id}` : ''}`;
}

/** The preview as `/order` shows it, saying which signal asked. */
function signalView(p: Preview, body: SignalBody, source: string): Preview['view'] {
  const who = [`source ${source}`, ...(body.id ? [`id ${body.id}`] : []), ...(body.comment ? [`comment “${body.comment}”`] : [])].join(' · ');
  return {
    title: `Signal: ${p.view.title}`,
    fields: [{ name: 'Asked by a signal', value: who }, ...p.view.fields],
    text: `A POST /signals webhook asked for this order (${who}). Nothing is sent to the exchange before approval.\n\n${p.view.text}`,
  };
}
