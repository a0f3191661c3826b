/**
 * Wire shapes the stand-in speaks (a subset of the Bot API), plus the records the test driver returns.
 * Wire types keep Telegram's snake_case; driver records use camelCase.
 */

export type ChatType = 'private' | 'group' | 'supergroup' | 'channel';

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TgBotUser extends TgUser {
  can_join_groups: boolean;
  can_read_all_group_messages: boolean;
  supports_inline_queries: boolean;
}

export interface TgChat {
  id: number;
  type: ChatType;
  title?: string;
  username?: string;
  first_name?: string;
  /** A supergroup with topics enabled. */
  is_forum?: boolean;
}

export interface TgMessageEntity {
  type: string;
  offset: number;
  length: number;
}

export interface TgInlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  [other: string]: unknown;
}

export interface TgInlineKeyboardMarkup {
  inline_keyboard: TgInlineKeyboardButton[][];
}

/** Inline keyboards are validated; reply keyboards, remove_keyboard and force_reply are stored as sent. */
export type TgReplyMarkup = TgInlineKeyboardMarkup | Record<string, unknown>;

export interface TgPhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size?: number;
}

export interface TgDocument {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

export interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: TgChat;
  date: number;
  edit_date?: number;
  text?: string;
  entities?: TgMessageEntity[];
  caption?: string;
  photo?: TgPhotoSize[];
  document?: TgDocument;
  reply_markup?: TgInlineKeyboardMarkup;
  reply_to_message?: TgMessage;
  /** Set on a forwarded message: who wrote it first, and when. */
  forward_origin?: { type: 'user'; sender_user: TgUser; date: number };
  /** Service message in a group that became a supergroup, and the first one in that supergroup. */
  migrate_to_chat_id?: number;
  migrate_from_chat_id?: number;
  /** The forum topic the message belongs to (`is_topic_message`: it was sent in that topic). */
  message_thread_id?: number;
  is_topic_message?: boolean;
}

export interface TgCallbackQuery {
  id: string;
  from: TgUser;
  message?: TgMessage;
  chat_instance: string;
  data?: string;
}

/** One update; exactly one field besides `update_id` is set. */
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  edited_message?: TgMessage;
  callback_query?: TgCallbackQuery;
  [otherType: string]: unknown;
}

export interface TgBotCommand {
  command: string;
  description: string;
}

// ---- driver records ----

/** A file the bot uploaded (multipart) or referenced by file_id / URL. */
export interface SentFile {
  /** Form field it came in: `photo` or `document`. */
  field: string;
  /** Set for uploads. */
  filename?: string;
  /** Bytes received; 0 when the bot sent a file_id or URL instead of bytes. */
  size: number;
  contentType?: string;
  /** Set when the bot referenced an existing file_id or URL instead of uploading. */
  reference?: string;
}

/** One version of a message's visible content. */
export interface MessageVersion {
  text?: string;
  caption?: string;
  parseMode?: string;
  replyMarkup?: TgReplyMarkup;
}

/** A message the bot sent, with every later edit applied. Returned as a copy. */
export interface SentMessage extends MessageVersion {
  chatId: number;
  messageId: number;
  kind: 'text' | 'photo' | 'document';
  /** Rows of the inline keyboard, `[]` when there is none (a convenience view of `replyMarkup`). */
  inlineKeyboard: TgInlineKeyboardButton[][];
  file?: SentFile;
  replyToMessageId?: number;
  /** The forum topic it was posted in (absent: the chat itself, a forum's General topic). */
  messageThreadId?: number;
  disableNotification: boolean;
  editCount: number;
  /** Earlier versions, oldest first; the current one is the message itself. */
  history: MessageVersion[];
  deleted: boolean;
  sentAt: number;
  editedAt?: number;
}

export interface CallbackAnswer {
  callbackQueryId: string;
  text?: string;
  showAlert: boolean;
  url?: string;
  cacheTime?: number;
  at: number;
}

/** A send refused with 429 because it broke a limit (forced 429s are not violations). */
export interface Violation {
  method: string;
  chatId: number;
  /** Which limit: the chat's own (private 1/s, group 20/min) or the bot-wide one (30/s). */
  scope: 'chat' | 'global';
  retryAfter: number;
  at: number;
}

/** Every 429 the stand-in answered, including forced ones. */
export interface RateLimitedCall {
  method: string;
  chatId: number;
  reason: 'chat' | 'global' | 'forced';
  retryAfter: number;
  at: number;
}

export interface UploadedFileMeta {
  field: string;
  filename: string;
  size: number;
  contentType?: string;
}

/** One HTTP call to the Bot API (files summarised, never their bytes). */
export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
  files: UploadedFileMeta[];
  status: number;
  description?: string;
  at: number;
}

export interface UnhandledCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
}

/** A forum topic of a supergroup; its id (message_thread_id) is the id of the service message that created it. */
export interface ForumTopic {
  threadId: number;
  name: string;
  closed: boolean;
  deleted: boolean;
}
