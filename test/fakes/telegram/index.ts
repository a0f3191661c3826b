export { startTelegramStandIn, TelegramStandIn, detectEntities } from './stand-in.js';
export type { TelegramStandInOptions, SendTextInput, ClickButtonInput, ForceRateLimitOptions } from './stand-in.js';
export { TELEGRAM_LIMITS, scaledLimits, type RateLimits, type WindowLimit } from './rate-limiter.js';
export type * from './types.js';
