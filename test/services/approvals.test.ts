import { afterEach, describe, expect, it } from 'vitest';
import { buttonOf, eventually, invocation, makeHarness, ALERT_CHANNEL, CHAT, type Harness } from './approvals-harness.js';
import { dispatchButton } from '../../commands/dispatch.js';
import { buttons } from '../../commands/registry.js';
import type { Reply } from '../../src/chat/reply.js';

/** A Telegram team chat the preview is mirrored to (as alert copies are), so Telegram accounts can click it. */
const TG_CHAT = '-100777000';
async function mirrorToTelegram(x: Harness, reply: Reply): Promise<void> {
  await x.ctx.messageRefs.add(reply.track!, { platform: 'telegram', chatId: TG_CHAT, messageId: '1' });
}
import { parseButtonId } from '../../src/chat/button-id.js';
import { clientOrderIdFor } from '../../src/services/orders/executor.js';
import type { CommandContext } from '../../commands/context.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ORDER = { symbol: 'btc', side: 'long', size_usd: 1000, leverage: 2 };

describe('order previews', () => {
  it('shows the rounded order and every check, and sends nothing before approval', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 1000, leverage: 3, price: 64_999.97 });
    const fields = Object.fromEntries((reply.fields ?? []).map((f) => [f.name, f.value]));
    // 1000 / 64999.9 = 0.015384.. BTC, floored to the 0.001 lot; a buy limit floors to the 0.1 tick.
    expect(fields['Quantity']).toContain('0.015 BTC');
    expect(fields['Order']).toContain('Limit buy at 64,999.90');
    expect(fields['Notional']).toBe('$975.00 (asked $1,000.00)');
    expect(fields['Leverage · margin']).toBe('3x · $325.00');
    expect(fields['Liquidation']).toMatch(/buffer \d+\.\d%/);
    expect(fields['Next funding']).toMatch(/UTC \(in \d\d:\d\d:\d\d\)/);
    expect(fields['Fees']).toContain('est.');
    expect(fields['Open interest']).toContain('funding');
    expect(fields['Suggested size (risk-based)']).toContain('with a 2% stop');
    expect(fields['Quarter-Kelly']).toContain('assumes 50% wins at 2:1');
    expect(reply.text).toContain('✅ Leverage 3x ≤ cap 5x');
    expect(reply.text).toContain('✅ Liquidation buffer');
    expect(reply.text).toContain('✅ Trading is not paused');
    expect(reply.text).toContain('✅ No liquidation cascade');
    expect(reply.track).toBeTruthy();
    const ap = parseButtonId(buttonOf(reply, 'Approve'));
    expect(ap).toMatchObject({ action: 'ap', ref: reply.track });
    expect(Buffer.byteLength(buttonOf(reply, 'Approve'))).toBeLessThanOrEqual(64);
    expect(parseButtonId(buttonOf(reply, 'Reject'))).toMatchObject({ action: 'rj', ref: reply.track });
    expect(await h.paper.listOrders()).toHaveLength(0);
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
  });

  it('rounds a sell limit up to the tick', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', { symbol: 'BTC-PERP', side: 'short', size_usd: 1000, leverage: 2, price: 65_000.01 });
    expect(reply.fields?.find((f) => f.name === 'Order')?.value).toContain('Limit sell at 65,000.10');
  });

  it('refuses leverage above the cap with a message naming the cap, and saves nothing', async () => {
    h = await makeHarness();
    const reply = await h.run('alice', 'order', { ...ORDER, leverage: 8 });
    expect(reply.text).toContain('leverage 8x is above');
    expect(reply.text).toContain('cap of 5x (MAX_LEVERAGE)');
    expect(reply.buttons).toBeUndefined();
    expect(reply.track).toBeUndefined();
    expect(await h.ctx.approvals.openIds()).toHaveLength(0);
  });

  it('refuses a size above the notional cap instead of lowering it', async () => {
    h = await makeHarness();
    const reply = await h.run('alice', 'order', { ...ORDER, size_usd: 12_000 });
    expect(reply.text).toContain('notional cap of $10,000.00');
    expect(reply.buttons).toBeUndefined();
  });

  it('shows a preview that fails the liquidation-buffer rule without an Approve button', async () => {
    h = await makeHarness({ MAX_LEVERAGE: '20' });
    const reply = await h.run('alice', 'order', { ...ORDER, leverage: 15 });
    expect(reply.text).toContain('⛔ Liquidation buffer');
    expect(reply.text).toContain('below the 10% minimum');
    expect(reply.buttons).toBeUndefined();
    expect(await h.ctx.approvals.openIds()).toHaveLength(0);
  });

  it('refuses a viewer who asks for an order', async () => {
    h = await makeHarness();
    const reply = await h.run('victor', 'order', ORDER);
    expect(reply.text).toContain('trader (PERPDESK_TRADERS)');
  });

  it('warns when a close preview comes less than 10 minutes before a funding stamp', async () => {
    h = await makeHarness();
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.01, leverage: 2, reduceOnly: false, clientOrderId: 'seed-1' });
    const f = await h.paper.funding('BTC-PERP');
    h.clock.t = f.nextFundingTs - 5 * 60_000;
    const reply = await h.preview('alice', 'close', { symbol: 'BTC' });
    expect(reply.text).toMatch(/Funding stamp in 5 min/);
    expect(reply.fields?.find((f2) => f2.name === 'Order')?.value).toContain('reduce-only');
    expect(buttonOf(reply, 'Approve')).toBeTruthy();
  });

  it('refuses a close when there is no position', async () => {
    h = await makeHarness();
    const reply = await h.run('alice', 'close', { symbol: 'ETH' });
    expect(reply.text).toContain('no open position in ETH-PERP');
  });
});

describe('approval', () => {
  it('places the approved order once, edits the preview to "Filled at" and raises an order alert', async () => {
    h = await makeHarness();
    await h.startWorker();
    const reply = await h.preview('alice', 'order', ORDER);
    const id = reply.track!;
    const r = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(r.notice).toBe('Approved: placing the order.');
    expect(r.update?.buttons).toEqual([]);
    const edit = await eventually(() => h!.notifier.edits.find((e) => e.reply.text?.includes('Filled at')));
    expect(edit.ref).toMatchObject({ platform: 'discord', chatId: CHAT });
    expect(edit.reply.buttons).toEqual([]);
    expect(edit.reply.text).toContain('Approved by Bob');
    const rec = await h.ctx.approvals.get(id);
    expect(rec?.status).toBe('filled');
    const orders = await h.paper.listOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ clientOrderId: clientOrderIdFor(id), side: 'buy', quantity: 0.015, status: 'filled' });
    const alert = await eventually(() => h!.notifier.sent.find((s) => s.chatId === ALERT_CHANNEL));
    expect(alert.reply.text).toMatch(/Order filled: BTC-PERP buy \(long\) 0\.015 BTC at 65,00\d\.\d/);
    expect(alert.reply.text).toContain('Requested by Alice; approved by Bob');
    const actions = (await h.ctx.audit.latest(20)).map((e) => e.action).reverse();
    expect(actions).toEqual(['order.requested', 'order.approved', 'order.submitted', 'order.filled']);
    const audit = await h.run('victor', 'audit', {});
    expect(audit.table?.rows.map((row) => row[3])).toEqual(['order.filled', 'order.submitted', 'order.approved', 'order.requested']);
    expect(audit.table?.rows[2]?.[1]).toBe('Bob (discord:2002)');
    expect((await h.run('victor', 'audit', { n: 2 })).table?.rows).toHaveLength(2);
    expect((await h.run('victor', 'audit', { n: 51 })).text).toContain('n must be at most 50');
  });

  it('answers the click before editing the other copies, and never edits a copy back to an older state', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', ORDER);
    const copy = { platform: 'discord', chatId: 'other-chat', messageId: 'copy-1' } as const;
    await h.ctx.messageRefs.add(reply.track!, copy);
    const copyEdits = () => h!.notifier.edits.filter((e) => e.ref.chatId === copy.chatId).map((e) => e.reply.text ?? '');
    // What a transport gets to answer with: the decision is persisted, the other copies are not edited yet.
    const r = await dispatchButton(h.ctx, buttons, buttonOf(reply, 'Approve'), invocation('bob'));
    expect(r.notice).toBe('Approved: placing the order.');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('approved');
    expect(copyEdits()).toEqual([]);
    // The worker places the order and shows the fill before the click's own follow-up work gets to run…
    await h.startWorker();
    await eventually(() => copyEdits().some((t) => t.includes('Filled at')));
    await r.afterAnswer!();
    // …which must not put the copy back to "approved, placing the order".
    expect(copyEdits().at(-1)).toContain('Filled at');
  });

  it('refuses self-approval when it is disabled and lets another approver approve', async () => {
    h = await makeHarness({ ALLOW_SELF_APPROVAL: 'false' });
    const reply = await h.preview('alice', 'order', ORDER);
    const r = await h.click('alice', buttonOf(reply, 'Approve'));
    expect(r.notice).toContain('someone else must approve it');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
    const ok = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(ok.notice).toBe('Approved: placing the order.');
  });

  it('refuses the requester\'s own Telegram account as an approver when self-approval is off (PERPDESK_PEOPLE)', async () => {
    h = await makeHarness({ ALLOW_SELF_APPROVAL: 'false', PERPDESK_PEOPLE: 'alice=discord:1001+telegram:1101' });
    const reply = await h.preview('alice', 'order', ORDER);
    await mirrorToTelegram(h, reply);
    // Alice's Telegram account holds her approver role through PERPDESK_PEOPLE, and is still Alice.
    const r = await h.click('aliceTg', buttonOf(reply, 'Approve'), TG_CHAT);
    expect(r.notice).toContain('someone else must approve it');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
    const refused = (await h.ctx.audit.latest(5)).find((e) => e.action === 'order.approval_refused');
    expect(refused?.actor).toBe('@alice (alice via telegram:1101)');
    // The requester may still withdraw the preview from either account.
    expect((await h.click('aliceTg', buttonOf(reply, 'Reject'), TG_CHAT)).notice).toBe('Rejected: nothing was sent to the exchange.');
    expect((await h.ctx.approvals.get(reply.track!))?.reason).toBe('withdrawn by the requester');
  });

  it('counts one person approving from Discord and from Telegram once toward APPROVALS_REQUIRED', async () => {
    h = await makeHarness({ APPROVALS_REQUIRED: '2', PERPDESK_PEOPLE: 'bob=discord:2002+telegram:2202' });
    const reply = await h.preview('alice', 'order', ORDER);
    await mirrorToTelegram(h, reply);
    const approve = buttonOf(reply, 'Approve');
    expect((await h.click('bob', approve)).notice).toBe('Your approval is recorded (1 of 2).');
    expect((await h.click('bobTg', approve, TG_CHAT)).notice).toBe('You already approved this order (1 of 2); it needs another approver.');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
    expect((await h.click('carol', approve)).notice).toBe('Approved: placing the order.');
    const rec = await h.ctx.approvals.get(reply.track!);
    expect(rec?.approvers.map((a) => a.displayName)).toEqual(['Bob', 'Carol']);
    expect((await h.ctx.audit.latest(10)).find((e) => e.action === 'order.approval_recorded')?.actor).toBe('Bob (bob via discord:2002)');
  });

  it('still counts a person once when their first approval was stored before PERPDESK_PEOPLE grouped the accounts', async () => {
    h = await makeHarness({ APPROVALS_REQUIRED: '2' });
    const reply = await h.preview('alice', 'order', ORDER);
    await mirrorToTelegram(h, reply);
    const approve = buttonOf(reply, 'Approve');
    expect((await h.click('bob', approve)).notice).toBe('Your approval is recorded (1 of 2).');
    // A restart with the accounts grouped: the stored approval under discord:2002 is Bob's.
    h.ctx.config = { ...h.ctx.config, people: [{ name: 'bob', accounts: [{ platform: 'discord', id: '2002' }, { platform: 'telegram', id: '2202' }] }] };
    expect((await h.click('bobTg', approve, TG_CHAT)).notice).toBe('You already approved this order (1 of 2); it needs another approver.');
  });

  it('refuses an Approve or Reject click from a chat the preview was not posted to, and audits it', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', ORDER);
    const elsewhere = await h.click('bob', buttonOf(reply, 'Approve'), ALERT_CHANNEL);
    expect(elsewhere.notice).toBe('This was not posted in this chat, so a click here does not count: use the buttons where it was shown.');
    expect(elsewhere.update).toBeUndefined();
    expect((await h.click('bob', buttonOf(reply, 'Reject'), ALERT_CHANNEL)).notice).toMatch(/^This was not posted in this chat/);
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
    const refused = (await h.ctx.audit.latest(5)).filter((e) => e.action === 'order.approval_refused');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ actor: 'Bob (discord:2002)', subject: reply.track });
    // Where it was posted, the same click counts.
    expect((await h.click('bob', buttonOf(reply, 'Approve'), CHAT)).notice).toBe('Approved: placing the order.');
  });

  it('lets the requester approve when self-approval is enabled', async () => {
    h = await makeHarness({ ALLOW_SELF_APPROVAL: 'true' });
    const reply = await h.preview('alice', 'order', ORDER);
    const r = await h.click('alice', buttonOf(reply, 'Approve'));
    expect(r.notice).toBe('Approved: placing the order.');
    expect((await h.ctx.approvals.get(reply.track!))?.approvers.map((a) => a.displayName)).toEqual(['Alice']);
  });

  it('refuses a viewer and leaves the approval pending', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', ORDER);
    const r = await h.click('victor', buttonOf(reply, 'Approve'));
    expect(r.notice).toContain('approver (PERPDESK_APPROVERS) role');
    const rj = await h.click('victor', buttonOf(reply, 'Reject'));
    expect(rj.notice).toContain('approver (PERPDESK_APPROVERS) role');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
  });

  it('expires an unapproved preview on click and in the sweep', async () => {
    h = await makeHarness({ APPROVAL_TTL_SECONDS: '60' });
    const a = await h.preview('alice', 'order', ORDER);
    const b = await h.preview('alice', 'order', ORDER);
    h.clock.t += 61_000;
    const r = await h.click('bob', buttonOf(a, 'Approve'));
    expect(r.notice).toMatch(/^This preview is no longer valid: it expired at/);
    expect(r.update?.buttons).toEqual([]);
    expect((await h.ctx.approvals.get(a.track!))?.status).toBe('expired');
    // Start-up reconciliation expires what is overdue; the periodic sweep does the same later.
    const w = await h.startWorker();
    expect((await h.ctx.approvals.get(b.track!))?.status).toBe('expired');
    expect(h.notifier.edits.some((e) => e.reply.text?.startsWith('⌛ Expired'))).toBe(true);
    const c = await h.preview('alice', 'order', ORDER);
    expect(await w.sweep()).toMatchObject({ expired: [] });
    h.clock.t += 60_000;
    expect(await w.sweep()).toMatchObject({ expired: [c.track] });
    expect(await h.paper.listOrders()).toHaveLength(0);
  });

  it('rejects, and answers later clicks with who rejected it', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', ORDER);
    const r = await h.click('carol', buttonOf(reply, 'Reject'));
    expect(r.notice).toBe('Rejected: nothing was sent to the exchange.');
    expect(r.update?.text).toContain('Rejected by Carol');
    const late = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(late.notice).toBe('This preview is no longer valid: it was rejected by Carol.');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('rejected');
    expect(await h.ctx.orderQueue.queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0 });
  });

  it('answers a click on an already approved preview with who approved it', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', ORDER);
    await h.click('bob', buttonOf(reply, 'Approve'));
    const again = await h.click('carol', buttonOf(reply, 'Approve'));
    expect(again.notice).toBe('This preview is no longer valid: it was approved by Bob; the order is being placed.');
  });

  it('answers unknown and foreign buttons clearly', async () => {
    h = await makeHarness();
    const unknown = await h.click('bob', 'pd1:ap:azzzzzzzzzzz:9999999999');
    expect(unknown.notice).toContain('PerpDesk has no record of it');
    const foreign = await h.click('bob', 'xx9:ap:abc:1');
    expect(foreign.notice).toContain('outdated or not from PerpDesk');
  });

  it('needs APPROVALS_REQUIRED distinct approvers', async () => {
    h = await makeHarness({ APPROVALS_REQUIRED: '2' });
    await h.startWorker();
    const reply = await h.preview('alice', 'order', ORDER);
    const first = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(first.notice).toBe('Your approval is recorded (1 of 2).');
    expect(first.update?.buttons?.map((b) => b.label)).toEqual(['Approve', 'Reject']);
    const twice = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(twice.notice).toContain('You already approved this order (1 of 2)');
    expect(await h.paper.listOrders()).toHaveLength(0);
    h.clock.t += 5_000;
    const second = await h.click('carol', buttonOf(reply, 'Approve'));
    expect(second.notice).toBe('Approved: placing the order.');
    const rec = await eventually(async () => {
      const r = await h!.ctx.approvals.get(reply.track!);
      return r?.status === 'filled' ? r : undefined;
    });
    expect(rec.approvers.map((a) => a.displayName)).toEqual(['Bob', 'Carol']);
    expect(await h.paper.listOrders()).toHaveLength(1);
  });

  it('refuses the approval when the market moved beyond the tolerance', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', ORDER);
    await h.paper.setPrice('BTC-PERP', 66_000);
    const r = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(r.notice).toContain('the market moved +1.54% since the preview (tolerance 1%)');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
  });

  it('places exactly one exchange order when Approve is clicked 50 times at once', async () => {
    h = await makeHarness();
    await h.startWorker();
    const reply = await h.preview('alice', 'order', ORDER);
    const id = buttonOf(reply, 'Approve');
    const who = ['bob', 'carol', 'dana'] as const;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => h!.click(who[i % 3]!, id)));
    expect(results.filter((r) => r.notice === 'Approved: placing the order.')).toHaveLength(1);
    expect(results.every((r) => r.notice === 'Approved: placing the order.' || r.notice?.startsWith('This preview is no longer valid: it was approved by'))).toBe(true);
    await eventually(async () => (await h!.ctx.approvals.get(reply.track!))?.status === 'filled');
    // Re-enqueueing and re-running the job must not add anything either.
    await h.ctx.orderQueue.requeue(reply.track!);
    await eventually(async () => (await h!.ctx.orderQueue.queue.getJobCounts()).completed === 1);
    expect(await h.paper.listOrders()).toHaveLength(1);
    expect((await h.ctx.audit.latest(50)).filter((e) => e.action === 'order.approved')).toHaveLength(1);
  });

  it('makes one decision for a crowd of Approve clicks in one process: the others wait for it and are told what it settled', async () => {
    let tickers = 0;
    const countingTickers = (harness: Harness): CommandContext => ({
      ...harness.ctx,
      exchange: new Proxy(harness.paper, {
        get(target, prop) {
          if (prop === 'ticker') tickers++;
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }),
    });
    h = await makeHarness();
    let ctx = countingTickers(h);
    let crowded = 0;
    const progress = { crowded: () => void crowded++ };
    const click = (reply: Reply, who: 'bob' | 'carol' | 'dana') => dispatchButton(ctx, buttons, buttonOf(reply, 'Approve'), invocation(who), progress);
    const once = await h.preview('alice', 'order', ORDER);
    const who = ['bob', 'carol', 'dana'] as const;
    const crowd = await Promise.all(Array.from({ length: 30 }, (_, i) => click(once, who[i % 3]!)));
    expect(crowd.filter((r) => r.notice === 'Approved: placing the order.')).toHaveLength(1);
    expect(crowd.filter((r) => r.notice?.startsWith('This preview is no longer valid: it was approved by'))).toHaveLength(29);
    expect(tickers).toBe(1); // the checks ran for the one decision, not for every click
    expect(crowded).toBe(30); // and the transport heard of every click of the crowd, so it could acknowledge each at once

    // A decision that leaves the preview pending lets the waiting clicks go on with their own.
    await h.close();
    h = await makeHarness({ APPROVALS_REQUIRED: '2' });
    ctx = countingTickers(h);
    const twice = await h.preview('alice', 'order', ORDER);
    const both = await Promise.all([click(twice, 'bob'), click(twice, 'carol')]);
    expect(both.map((r) => r.notice)).toEqual(['Your approval is recorded (1 of 2).', 'Approved: placing the order.']);
  });
});

describe('pause', () => {
  it('blocks at preview, at approval and right before submission, but lets a reduce-only close through', async () => {
    h = await makeHarness();
    // Approval before the pause; the worker has not run it yet.
    const early = await h.preview('alice', 'order', ORDER);
    await h.click('bob', buttonOf(early, 'Approve'));
    // A preview made before the pause, approved after it.
    const pending = await h.preview('alice', 'order', ORDER);
    await h.paper.placeOrder({ symbol: 'ETH-PERP', side: 'buy', orderType: 'market', quantity: 0.1, leverage: 2, reduceOnly: false, clientOrderId: 'seed-eth' });

    const p = await h.run('dana', 'pause', { reason: 'exchange incident' });
    expect(p.text).toContain('Trading paused by Dana: exchange incident');
    expect(h.notifier.sent.some((s) => s.chatId === ALERT_CHANNEL && s.reply.text?.includes('Trading paused by Dana'))).toBe(true);

    const atPreview = await h.run('alice', 'order', ORDER);
    expect(atPreview.text).toContain('⛔ Trading is paused by Dana: exchange incident');
    expect(atPreview.buttons).toBeUndefined();

    const atApproval = await h.click('bob', buttonOf(pending, 'Approve'));
    expect(atApproval.notice).toContain('Approval refused: trading is paused by Dana');
    expect((await h.ctx.approvals.get(pending.track!))?.status).toBe('pending');

    const close = await h.preview('alice', 'close', { symbol: 'ETH' });
    expect(close.text).toContain('reduce-only closes still go through');
    expect((await h.click('bob', buttonOf(close, 'Approve'))).notice).toBe('Approved: placing the order.');

    await h.startWorker();
    const failed = await eventually(async () => {
      const r = await h!.ctx.approvals.get(early.track!);
      return r?.status === 'failed' ? r : undefined;
    });
    expect(failed.reason).toBe('not sent: trading is paused by Dana: exchange incident');
    await eventually(async () => (await h!.ctx.approvals.get(close.track!))?.status === 'filled');
    const orders = await h.paper.listOrders();
    expect(orders.map((o) => o.clientOrderId).sort()).toEqual([clientOrderIdFor(close.track!), 'seed-eth'].sort());
    expect(await h.paper.positions()).toHaveLength(0);

    const again = await h.run('dana', 'pause', {});
    expect(again.text).toContain('already paused by Dana');
    const notAdmin = await h.run('alice', 'resume', {});
    expect(notAdmin.text).toContain('admin (PERPDESK_ADMINS)');
    const r = await h.run('dana', 'resume', {});
    expect(r.text).toContain('Trading resumed by Dana');
    expect(h.notifier.sent.some((s) => s.chatId === ALERT_CHANNEL && s.reply.text?.includes('Trading resumed by Dana'))).toBe(true);
    expect((await h.run('dana', 'resume', {})).text).toBe('Trading is not paused.');
  });
});
