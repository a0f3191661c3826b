import { afterEach, describe, expect, it } from 'vitest';
import { runFundingHarvester } from '../../jobs/funding-harvester.js';
import { encodeButtonId } from '../../src/chat/button-id.js';
import type { AuditEntry } from '../../src/services/audit.js';
import { proposalTrack } from '../../src/services/harvester/plans.js';
import { CONSOLE, drained, entryPlan, jobsHarness, RecordingNotifier, showPlan, telegramInvocation, type JobsHarness, type HarnessOptions } from './support/harness.js';

let h: JobsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The team's Telegram alert chat: proposals are posted there, and clicks there count. */
const TEAM_CHAT = '-100500';
const ANN = telegramInvocation('42', TEAM_CHAT);
const BOB = telegramInvocation('7', TEAM_CHAT);

/** A harness whose alerts also reach the Telegram team chat. */
function teamHarness(env: Record<string, string>, o: HarnessOptions = {}): Promise<JobsHarness> {
  // A bot token makes the alert chat a destination; the recording notifier stands in for the transport.
  return jobsHarness({ ...o, env: { TELEGRAM_BOT_TOKEN: '1:unused', TELEGRAM_ALERT_CHAT_ID: TEAM_CHAT, ...env }, extraNotifiers: [new RecordingNotifier('telegram')] });
}

/** A plan made here without the harvester job: it is shown where the job would have posted it. */
async function shown(x: JobsHarness, planId: string): Promise<void> {
  await showPlan(x, planId, ANN);
  await showPlan(x, planId, CONSOLE);
}

async function audit(x: JobsHarness, subject: string): Promise<AuditEntry[]> {
  return (await x.ctx.audit.latest(100)).filter((e) => e.subject === subject).reverse();
}

describe('harvester proposals through the approval rules of orders', () => {
  it('with APPROVALS_REQUIRED=2, should need two distinct approvers, answer like an order preview and audit each step atomically in the order entries\' shape', async () => {
    h = await teamHarness({ HARVESTER_MODE: 'propose', APPROVALS_REQUIRED: '2', PERPDESK_APPROVERS: 'telegram:42,telegram:7' });
    await h.paper.setFunding('BTC-PERP', 0.001);
    const planId = (await runFundingHarvester(h.bg.ctx)).find((o) => o.symbol === 'BTC-PERP')!.planId!;
    await drained(h);
    const approve = h.notifier.sent[0]!.reply.buttons!.find((b) => b.label === 'Approve')!.id;

    expect((await h.click(approve, ANN)).notice).toBe('Your approval is recorded (1 of 2).');
    expect((await h.click(approve, ANN)).notice).toBe('You already approved this proposal (1 of 2); it needs another approver.');
    expect((await h.ctx.harvester.plan(planId))?.status).toBe('pending');
    expect((await h.paper.positions())).toHaveLength(0);

    expect((await h.click(approve, BOB)).notice).toBe('Approved: both legs placed.');
    const rec = await h.ctx.harvester.plan(planId);
    expect(rec?.status).toBe('executed');
    expect(rec?.approvers.map((a) => `${a.platform}:${a.userId}`)).toEqual(['telegram:42', 'telegram:7']);

    const entries = await audit(h, planId);
    const decisions = entries.filter((e) => e.action === 'harvester.approval_recorded' || e.action === 'harvester.approved');
    expect(decisions).toEqual([
      expect.objectContaining({ actor: 'user42 (telegram:42)', platform: 'telegram', action: 'harvester.approval_recorded', detail: expect.stringMatching(/^approval 1 of 2: enter BTC-PERP: /) }),
      expect.objectContaining({ actor: 'user7 (telegram:7)', platform: 'telegram', action: 'harvester.approved', detail: expect.stringMatching(/^approval 2 of 2, plan approved: enter BTC-PERP: /) }),
    ]);
    // The duplicate click changed nothing and recorded nothing.
    expect(entries.filter((e) => e.action === 'harvester.approval_recorded')).toHaveLength(1);
    // Approval is recorded before any leg is sent.
    const actions = entries.map((e) => e.action);
    expect(actions.indexOf('harvester.approved')).toBeLessThan(actions.indexOf('harvester.leg'));
  });

  it('with APPROVALS_REQUIRED=2, one person approving from Telegram and from Discord (PERPDESK_PEOPLE) should count once', async () => {
    h = await teamHarness({ HARVESTER_MODE: 'propose', APPROVALS_REQUIRED: '2', PERPDESK_APPROVERS: 'telegram:42,telegram:7', PERPDESK_PEOPLE: 'ann=telegram:42+discord:424242' });
    await h.paper.setFunding('BTC-PERP', 0.001);
    const planId = (await runFundingHarvester(h.bg.ctx)).find((o) => o.symbol === 'BTC-PERP')!.planId!;
    await drained(h);
    const approve = h.notifier.sent[0]!.reply.buttons!.find((b) => b.label === 'Approve')!.id;
    // Ann's Discord account, in a chat the proposal was posted to (the console stands in for a second platform's copy).
    const annOnDiscord = { platform: 'discord' as const, actor: { platform: 'discord' as const, userId: '424242', displayName: 'ann#discord', roleIds: [] }, chatId: 'dc-alerts' };
    await h.ctx.messageRefs.add(proposalTrack(planId), { platform: 'discord', chatId: 'dc-alerts', messageId: '9' });
    expect((await h.click(approve, ANN)).notice).toBe('Your approval is recorded (1 of 2).');
    expect((await h.click(approve, annOnDiscord)).notice).toBe('You already approved this proposal (1 of 2); it needs another approver.');
    expect((await h.ctx.harvester.plan(planId))?.status).toBe('pending');
    expect((await h.click(approve, BOB)).notice).toBe('Approved: both legs placed.');
    expect((await audit(h, planId)).find((e) => e.action === 'harvester.approval_recorded')?.actor).toBe('user42 (ann via telegram:42)');
  });

  it('a click from a chat the proposal was not posted to should be refused and audited, and change nothing', async () => {
    h = await teamHarness({ HARVESTER_MODE: 'propose' });
    await h.paper.setFunding('BTC-PERP', 0.001);
    const planId = (await runFundingHarvester(h.bg.ctx)).find((o) => o.symbol === 'BTC-PERP')!.planId!;
    await drained(h);
    const approve = h.notifier.sent[0]!.reply.buttons!.find((b) => b.label === 'Approve')!.id;
    // Ann is an approver, but clicks in her private chat, where the proposal never went.
    const r = await h.click(approve, telegramInvocation('42', '42'));
    expect(r.notice).toBe('This was not posted in this chat, so a click here does not count: use the buttons where it was shown.');
    expect((await h.ctx.harvester.plan(planId))?.status).toBe('pending');
    const byPeople = (await audit(h, planId)).filter((e) => e.action !== 'harvester.proposed');
    expect(byPeople.map((e) => [e.actor, e.action])).toEqual([['user42 (telegram:42)', 'harvester.approval_refused']]);
    expect(await h.paper.positions()).toHaveLength(0);
    // The console showed it: a click there counts.
    expect((await h.click(approve, CONSOLE)).notice).toBe('Approved: both legs placed.');
  });

  it('when a proposal is past its deadline, a click should expire it (audited by PerpDesk) and place nothing; so should the next harvester run', async () => {
    h = await teamHarness({ HARVESTER_MODE: 'propose' });
    const past = Date.now() - 10_000;
    await h.ctx.harvester.createPlan({ plan: entryPlan('late1', past - 60_000), status: 'pending', mode: 'propose', expiresAt: past, required: 1 }, past - 60_000);
    await shown(h, 'late1');
    const r = await h.click(encodeButtonId({ action: 'hvok', ref: 'late1', exp: 0 }));
    expect(r.notice).toBe('This proposal has expired.');
    expect((await h.ctx.harvester.plan('late1'))?.status).toBe('expired');
    expect(await audit(h, 'late1')).toEqual([
      expect.objectContaining({ actor: 'PerpDesk', platform: 'system', action: 'harvester.expired', detail: expect.stringMatching(/^not approved within the time limit: enter BTC-PERP/) }),
    ]);
    // A second click finds it decided and says so; no second audit entry.
    expect((await h.click(encodeButtonId({ action: 'hvno', ref: 'late1', exp: 0 }))).notice).toBe('This proposal is already expired by PerpDesk.');
    expect(await audit(h, 'late1')).toHaveLength(1);

    // The harvester's own sweep expires an overdue plan the same way.
    await h.ctx.harvester.createPlan({ plan: { ...entryPlan('late2', past - 60_000), symbol: 'ETH-PERP', spotSymbol: 'ETH-USD' }, status: 'pending', mode: 'propose', expiresAt: past, required: 1 }, past - 60_000);
    const out = await runFundingHarvester(h.bg.ctx);
    expect(out.find((o) => o.symbol === 'ETH-PERP')).toMatchObject({ reason: 'proposal_expired', planId: 'late2' });
    expect((await audit(h, 'late2')).map((e) => [e.actor, e.action])).toEqual([['PerpDesk', 'harvester.expired']]);
    expect(await h.paper.positions()).toHaveLength(0);
  });

  it('when trading is paused, an approve click should be refused and the refusal audited; a reject should be audited with the rejecter', async () => {
    h = await teamHarness({ HARVESTER_MODE: 'propose' });
    const now = Date.now();
    await h.ctx.harvester.createPlan({ plan: entryPlan('paused1', now), status: 'pending', mode: 'propose', expiresAt: now + 600_000, required: 1 }, now);
    await shown(h, 'paused1');
    await h.ctx.killSwitch.pause('ops', 'maintenance', now);
    const approve = encodeButtonId({ action: 'hvok', ref: 'paused1', exp: Math.ceil((now + 600_000) / 1000) });
    expect((await h.click(approve, ANN)).notice).toBe('Approval refused: trading is paused by ops (maintenance).');
    expect((await h.ctx.harvester.plan('paused1'))?.status).toBe('pending');

    const r = await h.click(encodeButtonId({ action: 'hvno', ref: 'paused1', exp: Math.ceil((now + 600_000) / 1000) }), ANN);
    expect(r.notice).toBe('Rejected: nothing was sent to the exchange.');
    expect((await audit(h, 'paused1')).map((e) => [e.actor, e.action])).toEqual([
      ['user42 (telegram:42)', 'harvester.approval_refused'],
      ['user42 (telegram:42)', 'harvester.rejected'],
    ]);
    expect((await h.click(approve, ANN)).notice).toBe('This proposal is already rejected by user42.');
    expect(await h.paper.positions()).toHaveLength(0);
  });
});
