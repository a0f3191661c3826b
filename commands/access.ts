/**
 * The global precondition every command and button passes before anything else (Sapphire's global precondition):
 * only the team reads the desk. A stranger gets one line saying the desk is private, never data, and the attempt
 * is audited (rate-limited: src/services/access/refusals.ts).
 */
import type { CommandContext, Invocation } from './context.js';
import { isAllowedChat, mayRead, type Place } from '../src/config/access.js';
import { isListed } from '../src/config/principals.js';
import { causeOf } from '../src/services/approvals/store.js';
import { personKey } from '../src/services/approvals/types.js';
import { personOf } from './order.js';
import type { Reply } from '../src/chat/reply.js';

export function placeOf(inv: Invocation): Place {
  return { platform: inv.platform, chatId: inv.chatId, ...(inv.guildId ? { guildId: inv.guildId } : {}) };
}

/** Earlier ids of this chat (a Telegram group upgraded to a supergroup keeps its role under its new id). */
function earlierIds(ctx: Pick<CommandContext, 'chatMigrations'>, inv: Invocation): Promise<string[]> {
  return inv.platform === 'telegram' ? ctx.chatMigrations.origins('telegram', inv.chatId) : Promise.resolve([]);
}

/** Whether the chat is open to its members, under its current id or an earlier one. */
async function chatAllowed(ctx: Pick<CommandContext, 'config' | 'chatMigrations'>, inv: Invocation): Promise<boolean> {
  if (isAllowedChat(ctx.config, placeOf(inv))) return true;
  return (await earlierIds(ctx, inv)).some((chatId) => isAllowedChat(ctx.config, { ...placeOf(inv), chatId }));
}

function whereWords(inv: Invocation): string {
  if (inv.platform === 'discord') return inv.guildId ? `discord channel ${inv.chatId} (server ${inv.guildId})` : `discord DM ${inv.chatId}`;
  return `${inv.platform} chat ${inv.chatId}${inv.chatType === 'private' ? ' (private)' : ''}`;
}

/** The one line a stranger gets: no data, and what the team would add to let them in. */
export function privateDeskReply(inv: Invocation): Reply {
  const account = personKey(inv.actor);
  return {
    text: `This PerpDesk is private to its team. To use it, ask them to add ${account} to PERPDESK_VIEWERS.`,
    severity: 'warning',
    ephemeral: true,
  };
}

/**
 * Null when the caller may read here; otherwise the refusal to show them (their attempt audited). `what` names what
 * was tried, for the audit: `/positions`, `button ap`.
 */
export async function accessRefusal(ctx: CommandContext, inv: Invocation, what: string): Promise<Reply | null> {
  if (mayRead(ctx.config, inv.actor, placeOf(inv)) || (await chatAllowed(ctx, inv))) return null;
  try {
    const written = await ctx.refusals.refused({
      ts: ctx.now(), ...causeOf(personOf(inv)), account: personKey(inv.actor), where: whereWords(inv), what: what.slice(0, 40),
    });
    if (written) ctx.log.info({ platform: inv.platform, user: inv.actor.userId, chat: inv.chatId, what: what.slice(0, 40) }, 'stranger refused');
  } catch (err) {
    // The refusal stands whether or not it could be audited.
    ctx.log.warn({ err }, 'could not audit a refused stranger');
  }
  return privateDeskReply(inv);
}

/**
 * Whether the click comes from a chat the message was posted to: the chat it was asked in (`origin`), or any chat
 * its copies went to (message refs under `track`). An Approve or Reject counts only there.
 */
export async function postedHere(
  ctx: Pick<CommandContext, 'messageRefs' | 'chatMigrations'>,
  inv: Invocation,
  track: string,
  origin?: { platform: string; chatId: string },
): Promise<boolean> {
  const here = (chatId: string) =>
    (origin !== undefined && origin.platform === inv.platform && origin.chatId === chatId) || refs.some((r) => r.platform === inv.platform && r.chatId === chatId);
  let refs: { platform: string; chatId: string }[] = [];
  if (here(inv.chatId)) return true;
  refs = await ctx.messageRefs.get(track);
  if (here(inv.chatId)) return true;
  // Posted before the group was upgraded: the same chat under its old id.
  return (await earlierIds(ctx, inv)).some(here);
}

export const NOT_POSTED_HERE = 'This was not posted in this chat, so a click here does not count: use the buttons where it was shown.';

/**
 * Whether this chat may receive alerts: an allowed chat (its members may read anyway), or a private chat with a
 * listed person. A listed person cannot open an unlisted group to alerts: its other members are strangers.
 */
export async function mayReceiveAlerts(ctx: Pick<CommandContext, 'config' | 'chatMigrations'>, inv: Invocation): Promise<boolean> {
  if (inv.chatType === 'private' && isListed(inv.actor, ctx.config)) return true;
  return chatAllowed(ctx, inv);
}
