import type { TelegramStandIn } from '../fakes/telegram/index.js';

/** The PerpDesk environment that points the Telegram transport at a stand-in. */
export function telegramEnv(tg: TelegramStandIn): Record<string, string> {
  return { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot };
}

/** A user writes `text` in the chat (`fromId` in groups); resolves with the text of the bot's next message there. */
export async function ask(tg: TelegramStandIn, chatId: number, text: string, fromId?: number): Promise<string> {
  const before = tg.messages(chatId).at(-1)?.messageId ?? 0;
  tg.sendText({ chatId, text, ...(fromId === undefined ? {} : { fromId }) });
  const m = await tg.waitForMessage(chatId, (x) => x.messageId > before);
  return m.text ?? m.caption ?? '';
}
