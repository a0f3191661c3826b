/**
 * A signal's approval follows the same rules as `/order`'s: four-eyes (APPROVALS_REQUIRED), expiry, and a requester
 * that can never approve. Real Redis, the paper exchange and the real button handlers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buttons } from '../../commands/registry.js';
import { dispatchButton } from '../../commands/dispatch.js';
import { renderApproval } from '../../src/services/approvals/render.js';
import { SignalIntake, signalApprovalId } from '../../src/services/signals/intake.js';
import { actor, buildTestDesk, TEAM_GROUP, type TestDesk } from '../support/desk.js';

let d: TestDesk | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

function intakeOf(t: TestDesk): SignalIntake {
  const c = t.ctx;
  return new SignalIntake({
    preview: { exchange: c.exchange, market: c.market, samples: c.samples, killSwitch: c.killSwitch, cascade: c.cascade, config: c.config, now: c.now },
    approvals: c.approvals, alerts: c.alerts, audit: c.audit, config: c.config, log: c.log, now: c.now,
  });
}

describe('signal approvals', () => {
  it('need two people with APPROVALS_REQUIRED=2 and expire after APPROVAL_TTL_SECONDS', async () => {
    let now = Date.now();
    d = await buildTestDesk({ now: () => now, env: { APPROVALS_REQUIRED: '2', APPROVAL_TTL_SECONDS: '60', PERPDESK_APPROVERS: 'telegram:1,telegram:2,telegram:3' } });
    const intake = intakeOf(d);
    const out = await intake.submit({ symbol: 'BTC-PERP', side: 'long', size_usd: 1000, leverage: 2, id: 'four-eyes' }, 'tv');
    expect(out.kind).toBe('created');
    if (out.kind !== 'created') return;
    const rec = out.approval;
    expect(rec.id).toBe(signalApprovalId('four-eyes'));
    expect(rec).toMatchObject({ required: 2, requester: { platform: 'webhook', userId: 'tv', displayName: 'signal tv' }, expiresAt: now + 60_000 });
    expect(rec.view.fields[0]).toEqual({ name: 'Asked by a signal', value: 'source tv · id four-eyes' });
    // Shown in the team group (as the alert delivery records it).
    await d.ctx.messageRefs.add(rec.id, { platform: 'telegram', chatId: TEAM_GROUP, messageId: '1' });
    const approve = renderApproval(rec).buttons![0]!.id;
    const click = (user: string) => dispatchButton(d!.ctx, buttons, approve, actor('telegram', user));

    expect((await click('1')).notice).toMatch(/1 of 2/);
    expect((await click('1')).notice).toMatch(/already/i);
    expect((await d.ctx.approvals.get(rec.id))?.status).toBe('pending');
    expect((await click('2')).notice).toBe('Approved: placing the order.');
    expect((await d.ctx.approvals.get(rec.id))?.status).toBe('approved');

    const late = await intake.submit({ symbol: 'ETH-PERP', side: 'short', size_usd: 500, leverage: 2, id: 'too-late' }, 'tv');
    if (late.kind !== 'created') throw new Error(`expected a preview, got ${late.kind}`);
    await d.ctx.messageRefs.add(late.approval.id, { platform: 'telegram', chatId: TEAM_GROUP, messageId: '2' });
    now += 61_000;
    const expired = await dispatchButton(d.ctx, buttons, renderApproval(late.approval).buttons![0]!.id, actor('telegram', '3'));
    expect(expired.notice).toMatch(/expired/);
    expect((await d.ctx.approvals.get(late.approval.id))?.status).toBe('expired');
    expect(await d.paper.listOrders()).toEqual([]);
  });

  it('refuses a click from a chat the preview was not posted to', async () => {
    d = await buildTestDesk({ env: { PERPDESK_APPROVERS: 'telegram:1' } });
    const out = await intakeOf(d).submit({ symbol: 'BTC-PERP', side: 'long', size_usd: 1000, leverage: 2 }, 'tv');
    if (out.kind !== 'created') throw new Error(`expected a preview, got ${out.kind}`);
    const r = await dispatchButton(d.ctx, buttons, renderApproval(out.approval).buttons![0]!.id, actor('telegram', '1'));
    expect(r.notice).toMatch(/not posted in this chat/);
    expect((await d.ctx.approvals.get(out.approval.id))?.status).toBe('pending');
  });
});
