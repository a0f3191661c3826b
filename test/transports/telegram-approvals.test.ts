import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startTestApp, type TestApp } from '../support/app.js';

/** Telegram ids: a trader, an approver, and someone with no role, all in one team group. */
const TRADER = 1001;
const APPROVER = 2002;
const VIEWER = 9009;
const GROUP = -100500;

describe('order approvals through Telegram inline buttons (whole app, real telegraf)', () => {
  let tg: TelegramStandIn;
  let t: TestApp;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    t = await startTestApp({
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      PERPDESK_TRADERS: `telegram:${TRADER}`,
      PERPDESK_APPROVERS: `telegram:${TRADER},telegram:${APPROVER}`,
      ALLOW_SELF_APPROVAL: 'false',
      // The team group: its members read (the viewer too); the desk is closed to other chats.
      PERPDESK_CHATS: `telegram:${GROUP}`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await tg?.close();
  });

  async function preview(text: string) {
    const before = tg.messages(GROUP).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId: GROUP, fromId: TRADER, username: 'trader', text });
    return tg.waitForMessage(GROUP, (m) => m.messageId > before && m.inlineKeyboard.length > 0);
  }

  const button = (m: { inlineKeyboard: { text: string; callback_data?: string }[][] }, label: string) => {
    const b = m.inlineKeyboard.flat().find((x) => x.text === label);
    if (!b?.callback_data) throw new Error(`no ${label} button`);
    return b.callback_data;
  };

  it('refuses Approve from someone without the approver role and places nothing', async () => {
    const msg = await preview('/order BTC-PERP long 1000 2');
    expect(msg.text).toContain('BTC-PERP');

    const q = tg.clickButton({ chatId: GROUP, fromId: VIEWER, messageId: msg.messageId, data: button(msg, 'Approve') });

    const answer = await tg.waitForCallbackAnswer(q);
    expect(answer.text).toContain('approver (PERPDESK_APPROVERS)');
    expect(answer.showAlert).toBe(true);
    expect(tg.message(GROUP, msg.messageId)!.editCount).toBe(0);
    expect(await t.paper.positions()).toEqual([]);
  });

  it('refuses the requester approving their own order when self-approval is off', async () => {
    const msg = await preview('/order ETH-PERP short 500 2');

    const q = tg.clickButton({ chatId: GROUP, fromId: TRADER, messageId: msg.messageId, data: button(msg, 'Approve') });

    expect((await tg.waitForCallbackAnswer(q)).text).toContain('someone else must approve');
    expect(await t.paper.positions()).toEqual([]);
  });

  it('places the order once when an approver clicks Approve, and edits the preview to filled', async () => {
    const msg = await preview('/order@PerpDeskBot btc long 1000 2');
    const approve = button(msg, 'Approve');

    const q = tg.clickButton({ chatId: GROUP, fromId: APPROVER, username: 'approver', messageId: msg.messageId, data: approve });

    expect((await tg.waitForCallbackAnswer(q)).text).toContain('Approved');
    const filled = await tg.waitForMessage(GROUP, (m) => m.messageId === msg.messageId && /Filled at/.test(m.text ?? ''), 10_000);
    expect(filled.inlineKeyboard).toEqual([]);
    const positions = await t.paper.positions();
    expect(positions).toHaveLength(1);
    expect(positions[0]).toMatchObject({ symbol: 'BTC-PERP', side: 'long' });
    const mark = (await t.paper.ticker('BTC-PERP')).markPrice;
    expect(positions[0]!.size * mark).toBeCloseTo(1000, -2);

    // A second click on the same (now stale) preview changes nothing.
    const again = tg.clickButton({ chatId: GROUP, fromId: APPROVER, messageId: msg.messageId, data: approve, force: true });
    await tg.waitForCallbackAnswer(again);
    expect(await t.paper.positions()).toHaveLength(1);
    expect((await t.paper.listOrders()).length).toBe(1);
  });

  it('rejects with the Reject button: the preview says so and nothing is sent', async () => {
    const msg = await preview('/order ETH-PERP long 300 1');

    const q = tg.clickButton({ chatId: GROUP, fromId: APPROVER, messageId: msg.messageId, data: button(msg, 'Reject') });

    expect((await tg.waitForCallbackAnswer(q)).text).toContain('Rejected');
    const edited = await tg.waitForMessage(GROUP, (m) => m.messageId === msg.messageId && m.editCount > 0);
    expect(edited.inlineKeyboard).toEqual([]);
    expect((await t.paper.positions()).filter((p) => p.symbol === 'ETH-PERP')).toEqual([]);
  });

  it('lets a viewer see the usage of /order when values are missing', async () => {
    tg.sendText({ chatId: GROUP, fromId: VIEWER, text: '/order@PerpDeskBot BTC-PERP' });
    const m = await tg.waitForMessage(GROUP, (x) => (x.text ?? '').includes('Usage: /order'));
    expect(m.text).toContain('/order &lt;symbol&gt; &lt;long|short&gt;');
  });
});
