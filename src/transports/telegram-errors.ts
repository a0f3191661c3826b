import { TelegramError, type Telegram } from 'telegraf';
import { DeliveryError } from '../services/alerts/notifier.js';
import { rateLimitedTotal } from '../metrics/registry.js';

/**
 * Telegram errors → what the rest of PerpDesk understands. The bot token sits in every Bot API URL, so network
 * error messages (which quote the URL) are scrubbed before they reach a log line or a DeliveryError.
 */

/** Chats that can never receive again: the user blocked the bot, the bot left, the chat is gone. */
const PERMANENT_400 = /chat not found|user is deactivated|bot was kicked|group chat was (upgraded|deactivated)|PEER_ID_INVALID|need administrator rights|not enough rights to send/i;

export function scrubToken(text: string, token: string): string {
  if (!token) return text;
  let out = text.split(token).join('[redacted]');
  // The secret half alone can show up too (e.g. URL-encoded forms of the token).
  const secretPart = token.slice(token.indexOf(':') + 1);
  if (secretPart.length >= 8) out = out.split(secretPart).join('[redacted]');
  out = out.split(encodeURIComponent(token)).join('[redacted]');
  return out;
}

/** A log-safe summary of any error a telegraf call threw. */
export function describeError(e: unknown, token: string): { name: string; message: string; code?: number } {
  if (e instanceof TelegramError) return { name: 'TelegramError', code: e.code, message: scrubToken(e.description, token) };
  if (e instanceof Error) return { name: e.name, message: scrubToken(e.message, token) };
  return { name: 'unknown', message: scrubToken(String(e), token) };
}

export function isTelegramError(e: unknown, code: number, description?: RegExp): e is TelegramError {
  return e instanceof TelegramError && e.code === code && (!description || description.test(e.description));
}

/** Editing a message to what it already shows is not a failure (double clicks, repeated alert states). */
export const isNotModified = (e: unknown): boolean => isTelegramError(e, 400, /message is not modified/i);

/** Maps a send/edit failure for the notify queue: 429 → wait `retry_after`, 403 and dead chats → permanent. */
export function toDeliveryError(e: unknown, token: string): DeliveryError {
  if (e instanceof DeliveryError) return e;
  const d = describeError(e, token);
  const message = `telegram: ${d.message}`;
  if (e instanceof TelegramError) {
    if (e.code === 429) {
      const seconds = e.parameters?.retry_after;
      return new DeliveryError(message, typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : 1000);
    }
    if (e.code === 403) return new DeliveryError(message, undefined, true);
    if (e.code === 400 && PERMANENT_400.test(e.description)) return new DeliveryError(message, undefined, true);
  }
  return new DeliveryError(message);
}

/** Counts every 429 Telegram answers, whichever call met it (reply, edit, alert, polling), in perpdesk_rate_limited_total. */
export function countRateLimits(telegram: Telegram): void {
  const callApi = telegram.callApi.bind(telegram);
  telegram.callApi = (async (...args: Parameters<typeof callApi>) => {
    try {
      return await callApi(...args);
    } catch (e) {
      if (isTelegramError(e, 429)) rateLimitedTotal.inc({ platform: 'telegram' });
      throw e;
    }
  }) as typeof telegram.callApi;
}
