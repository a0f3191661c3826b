import { defineCommand } from './define.js';
import { symbolOption } from './symbol-option.js';
import type { CommandContext, Invocation } from './context.js';
import type { Reply } from '../src/chat/reply.js';
import { UserError } from '../src/errors.js';
import { previewOpen, type Preview } from '../src/services/orders/preview.js';
import { causeOf, planWords } from '../src/services/approvals/store.js';
import { renderApproval } from '../src/services/approvals/render.js';
import type { Person } from '../src/services/approvals/types.js';
import { ordersRefusedTotal } from '../src/metrics/registry.js';

export function personOf(inv: Invocation): Person {
  return { platform: inv.actor.platform, userId: inv.actor.userId, displayName: inv.actor.displayName, ...(inv.actor.person ? { person: inv.actor.person } : {}) };
}

/**
 * Builds a preview; a refusal (a cap, a bad size, no position) goes to the audit stream before the requester sees
 * it, like a blocked preview, so /audit shows every order the desk turned down and why.
 */
export async function buildPreview(ctx: CommandContext, inv: Invocation, subject: string, build: () => Promise<Preview>): Promise<Preview> {
  try {
    return await build();
  } catch (e) {
    if (e instanceof UserError) {
      ordersRefusedTotal.inc({ stage: 'preview', reason: e.identifier });
      await ctx.audit.append({ ts: ctx.now(), ...causeOf(personOf(inv)), action: 'order.preview_refused', subject, detail: e.message });
    }
    throw e;
  }
}

/**
 * Turns a preview into the message people decide on. A blocked preview is shown without an Approve button and
 * saves nothing; otherwise a `pending` approval is persisted first, and only then are its buttons handed out.
 */
export async function offerPreview(ctx: CommandContext, preview: Preview, inv: Invocation): Promise<Reply> {
  const now = ctx.now();
  const requester = personOf(inv);
  if (preview.blockers.length) {
    for (const reason of preview.reasons) ordersRefusedTotal.inc({ stage: 'preview', reason });
    await ctx.audit.append({
      ts: now, ...causeOf(requester), action: 'order.preview_blocked', subject: preview.plan.symbol,
      detail: `${planWords(preview)}: ${preview.blockers.join('; ')}`,
    });
    return {
      title: preview.view.title,
      fields: preview.view.fields,
      text: `⛔ Blocked: this order cannot be approved as it stands.\n\n${preview.view.text}`,
      severity: 'warning',
    };
  }
  const rec = await ctx.approvals.create({
    createdAt: now,
    expiresAt: now + ctx.config.APPROVAL_TTL_SECONDS * 1000,
    requester,
    chatId: inv.chatId,
    required: ctx.config.APPROVALS_REQUIRED,
    selfApprovalAllowed: ctx.config.ALLOW_SELF_APPROVAL,
    plan: preview.plan,
    view: preview.view,
  });
  ctx.log.info({ approvalId: rec.id, symbol: rec.plan.symbol, side: rec.plan.side, quantity: rec.plan.quantity }, 'order preview offered');
  return { ...renderApproval(rec), track: rec.id };
}

export default defineCommand({
  name: 'order',
  description: 'Preview an order with its risk checks; Approve/Reject buttons decide, nothing is sent before approval',
  role: 'trader',
  sideEffect: 'order',
  slow: true,
  options: [
    symbolOption,
    { name: 'side', description: 'long or short', type: 'string', required: true, choices: ['long', 'short'] },
    { name: 'size_usd', description: 'Position size in USD (notional)', type: 'number', required: true },
    { name: 'leverage', description: 'Leverage, e.g. 3', type: 'number', required: true, min: 1 },
    { name: 'price', description: 'Limit price (omit for a market order)', type: 'number' },
  ],
  async run(ctx, args, inv) {
    const preview = await buildPreview(ctx, inv, args.symbol, () => previewOpen(ctx, {
      symbol: args.symbol,
      side: args.side,
      sizeUsd: args.size_usd,
      leverage: args.leverage,
      ...(args.price === undefined ? {} : { price: args.price }),
    }));
    return offerPreview(ctx, preview, inv);
  },
});
