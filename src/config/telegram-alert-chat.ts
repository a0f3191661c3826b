import { parseKindAssignments, type AlertKindName } from '../chat/alert-kinds.js';

/** Forum topic (message_thread_id) per alert kind; kinds without one go to the chat's General topic. */
export type TopicMap = Partial<Record<AlertKindName, number>>;

export interface TelegramAlertChat {
  chatId: string;
  topics: TopicMap;
}

const CHAT_ID = /^-?\d+$/;
/** Forums are supergroups, whose ids carry Telegram's -100 prefix. */
const SUPERGROUP_ID = /^-100\d+$/;
/** Telegram's General topic: it cannot be named as a message_thread_id (the Bot API answers "message thread not found"). */
const GENERAL_TOPIC = 1;

/**
 * `TELEGRAM_ALERT_CHAT_ID`: a chat id, optionally followed by a topic per kind or group for a forum supergroup,
 * `-100123:cascade=12,risk=14,order=16`. Throws an Error whose message completes "expected …".
 */
export function parseTelegramAlertChat(text: string): TelegramAlertChat {
  const colon = text.indexOf(':');
  const chatId = (colon < 0 ? text : text.slice(0, colon)).trim();
  if (!CHAT_ID.test(chatId)) throw new Error('a Telegram chat id (integer), optionally with forum topics: -100123:cascade=12,risk=14,order=16');
  if (colon < 0) return { chatId, topics: {} };
  if (!SUPERGROUP_ID.test(chatId)) throw new Error(`forum topics only in a forum supergroup (an id starting -100), not ${chatId}`);
  let topics: Map<AlertKindName, number>;
  try {
    topics = parseKindAssignments(text.slice(colon + 1), (raw) => {
      if (!/^\d{1,10}$/.test(raw) || Number(raw) <= 0) throw new Error(`topic "${raw}" is not a topic id (the message_thread_id, a positive whole number)`);
      if (Number(raw) === GENERAL_TOPIC) throw new Error('topic 1 is the General topic: leave the kind out to post there');
      return Number(raw);
    });
  } catch (e) {
    throw new Error(`forum topics as kind=topic id after the chat id (-100123:cascade=12,risk=14,order=16): ${(e as Error).message}`);
  }
  return { chatId, topics: Object.fromEntries(topics) };
}
