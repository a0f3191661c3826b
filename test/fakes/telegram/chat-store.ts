import { inlineKeyboardOf, isInlineKeyboard } from './reply-markup.js';
import type { ChatType, ForumTopic, SentMessage, TgChat, TgMessage, TgUser } from './types.js';

interface ChatState {
  chat: TgChat;
  nextMessageId: number;
  botMessages: Map<number, SentMessage>;
  userMessages: Map<number, TgMessage>;
  blocked: boolean;
  /** The supergroup this group became (Telegram refuses sends and edits here from then on). */
  migratedTo?: number;
  /** Set once topics are enabled (a forum), by thread id. */
  topics?: Map<number, ForumTopic>;
}

/** Supergroup and channel ids carry Telegram's -100 prefix. */
const SUPERGROUP_ID_BELOW = -1_000_000_000_000;

/** Chats the stand-in has seen, their messages (message ids count per chat, as in Telegram) and block state. */
export class ChatStore {
  private readonly chats = new Map<number, ChatState>();

  chat(chatId: number): TgChat {
    const s = this.state(chatId);
    return s.topics === undefined ? s.chat : { ...s.chat, is_forum: true };
  }

  /** Turns topics on (only supergroups can be forums, as in Telegram). */
  makeForum(chatId: number): void {
    const s = this.state(chatId);
    if (s.chat.type !== 'supergroup') throw new Error(`chat ${chatId} is a ${s.chat.type}: only supergroups (-100… ids) can be forums`);
    if (s.topics !== undefined) return;
    s.topics = new Map();
    // The General topic is thread 1 (the chat's first message): new topics never get it.
    if (s.nextMessageId === 1) s.nextMessageId = 2;
  }

  isForum(chatId: number): boolean {
    return this.chats.get(chatId)?.topics !== undefined;
  }

  /** A new topic; its id comes from the chat's message ids, as Telegram's does (the id of its creation message). */
  createTopic(chatId: number, name: string): ForumTopic {
    const topics = this.state(chatId).topics;
    if (topics === undefined) throw new Error(`chat ${chatId} is not a forum: call makeForum first`);
    const topic: ForumTopic = { threadId: this.allocateMessageId(chatId), name, closed: false, deleted: false };
    topics.set(topic.threadId, topic);
    return topic;
  }

  /** The live record (mutable), deleted ones included. */
  topic(chatId: number, threadId: number): ForumTopic | undefined {
    return this.chats.get(chatId)?.topics?.get(threadId);
  }

  topics(chatId: number): ForumTopic[] {
    return [...(this.chats.get(chatId)?.topics?.values() ?? [])];
  }

  /** Records what a user-side update says about the chat (type, title, names). */
  remember(chat: TgChat): void {
    this.state(chat.id).chat = chat;
  }

  allocateMessageId(chatId: number): number {
    const s = this.state(chatId);
    return s.nextMessageId++;
  }

  addUserMessage(message: TgMessage): void {
    this.state(message.chat.id).userMessages.set(message.message_id, message);
  }

  userMessage(chatId: number, messageId: number): TgMessage | undefined {
    return this.chats.get(chatId)?.userMessages.get(messageId);
  }

  removeUserMessage(chatId: number, messageId: number): boolean {
    return this.chats.get(chatId)?.userMessages.delete(messageId) ?? false;
  }

  addBotMessage(message: SentMessage): void {
    this.state(message.chatId).botMessages.set(message.messageId, message);
  }

  /** The live record (mutable; callers outside the stand-in get copies). */
  botMessage(chatId: number, messageId: number): SentMessage | undefined {
    return this.chats.get(chatId)?.botMessages.get(messageId);
  }

  botMessages(chatId: number): SentMessage[] {
    return [...(this.chats.get(chatId)?.botMessages.values() ?? [])];
  }

  setBlocked(chatId: number, blocked: boolean): void {
    this.state(chatId).blocked = blocked;
  }

  isBlocked(chatId: number): boolean {
    return this.chats.get(chatId)?.blocked ?? false;
  }

  /** Whether the chat ever wrote to the bot or was written to (Telegram knows no others: "chat not found"). */
  has(chatId: number): boolean {
    return this.chats.has(chatId);
  }

  setMigrated(chatId: number, to: number): void {
    this.state(chatId).migratedTo = to;
  }

  migratedTo(chatId: number): number | undefined {
    return this.chats.get(chatId)?.migratedTo;
  }

  private state(chatId: number): ChatState {
    let s = this.chats.get(chatId);
    if (s === undefined) {
      s = { chat: inferChat(chatId), nextMessageId: 1, botMessages: new Map(), userMessages: new Map(), blocked: false };
      this.chats.set(chatId, s);
    }
    return s;
  }
}

function inferChat(chatId: number): TgChat {
  const type: ChatType = chatId > 0 ? 'private' : chatId <= SUPERGROUP_ID_BELOW ? 'supergroup' : 'group';
  return type === 'private' ? { id: chatId, type, first_name: `User ${chatId}` } : { id: chatId, type, title: `Chat ${chatId}` };
}

/** The Message object Telegram returns for a bot message (inline keyboards only, as Telegram does). */
export function toWireMessage(m: SentMessage, chat: TgChat, bot: TgUser, replyTo?: TgMessage): TgMessage {
  const wire: TgMessage = { message_id: m.messageId, from: bot, chat, date: Math.floor(m.sentAt / 1000) };
  if (m.editedAt !== undefined) wire.edit_date = Math.floor(m.editedAt / 1000);
  if (m.text !== undefined) wire.text = m.text;
  if (m.caption !== undefined) wire.caption = m.caption;
  const fileId = `file-${m.chatId}-${m.messageId}`;
  const size = m.file?.size ?? 0;
  if (m.kind === 'photo') {
    wire.photo = [{ file_id: fileId, file_unique_id: `u${fileId}`, width: 320, height: 320, file_size: size }];
  }
  if (m.kind === 'document') {
    wire.document = { file_id: fileId, file_unique_id: `u${fileId}`, file_name: m.file?.filename, file_size: size };
  }
  if (m.replyMarkup !== undefined && isInlineKeyboard(m.replyMarkup) && inlineKeyboardOf(m.replyMarkup).length > 0) {
    wire.reply_markup = m.replyMarkup;
  }
  if (replyTo !== undefined) wire.reply_to_message = replyTo;
  if (m.messageThreadId !== undefined) {
    wire.message_thread_id = m.messageThreadId;
    wire.is_topic_message = true;
  }
  return wire;
}
