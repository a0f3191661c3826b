import { PermissionError, UserError, errorRef } from '../src/errors.js';
import { ExchangeError } from '../src/exchange/port.js';
import { rolesOf, type Role } from '../src/config/principals.js';
import { parseButtonId } from '../src/chat/button-id.js';
import type { CommandContext, Invocation } from './context.js';
import { argsSchema, usage, type ButtonDef, type ButtonResult, type ClickProgress, type CommandDef } from './define.js';
import { userErrorReply, type Reply } from '../src/chat/reply.js';
import { identify } from './identity.js';
import { accessRefusal } from './access.js';
import { buttonClicksTotal, commandDuration, commandsTotal, type CommandOutcome } from '../src/metrics/registry.js';

const ROLE_WORDS: Record<Role, string> = {
  viewer: 'viewer',
  trader: 'trader (PERPDESK_TRADERS)',
  approver: 'approver (PERPDESK_APPROVERS)',
  admin: 'admin (PERPDESK_ADMINS)',
};

export function hasRole(ctx: CommandContext, inv: Invocation, role: Role): boolean {
  return rolesOf(inv.actor, ctx.config).has(role);
}

export function requireRole(ctx: CommandContext, inv: Invocation, role: Role, what: string): void {
  if (!hasRole(ctx, inv, role)) throw new PermissionError(`You need the ${ROLE_WORDS[role]} role to ${what}.`);
}

/** Turns any thrown error into a reply: UserErrors as written, the rest as a reference id with the stack logged. */
export function errorToReply(ctx: CommandContext, e: unknown, where: Record<string, unknown>): Reply {
  if (e instanceof UserError) return userErrorReply(e.message);
  // The venue's Retry-After: the message says when it will answer again, which is all the user can act on.
  if (e instanceof ExchangeError && e.kind === 'rate_limited') return userErrorReply(e.message);
  const ref = errorRef();
  ctx.log.error({ err: e, ref, ...where }, 'command failed');
  return { text: `Internal error (ref ${ref}). The team can find the details in the logs.`, severity: 'critical', ephemeral: true };
}

/** How a thrown error shows in the command metrics. */
function outcomeOf(e: unknown): CommandOutcome {
  if (e instanceof PermissionError) return 'forbidden';
  return e instanceof UserError ? 'user_error' : 'error';
}

/**
 * Runs one command: validate the options, check the role, run. Never throws and never rejects: every outcome is a
 * reply, so no transport can crash on bad input.
 */
export async function dispatch(
  ctx: CommandContext,
  commands: readonly CommandDef[],
  name: string,
  rawArgs: Record<string, unknown>,
  who: Invocation,
): Promise<Reply> {
  const inv = identify(ctx, who);
  const cmdName = typeof name === 'string' ? name.toLowerCase() : '';
  const def = commands.find((c) => c.name === cmdName);
  const endTimer = commandDuration.startTimer();
  let outcome: CommandOutcome = 'ok';
  try {
    const refused = await accessRefusal(ctx, inv, `/${cmdName.slice(0, 32)}`);
    if (refused) {
      outcome = 'refused';
      return refused;
    }
    if (!def) throw new UserError('unknown_command', `Unknown command /${String(name).slice(0, 32)}. Type /help for the list.`);
    const parsed = argsSchema(def.options).safeParse(rawArgs ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path[0];
      // zod does not report the input on an issue, so "missing" is read from the raw options: a value that is
      // present but out of range (1e999 is Infinity, 3.5 for a whole number) must not be called missing, and an
      // absent number (a union issue, not invalid_type) must be.
      const given = field !== undefined && rawArgs != null && (rawArgs as Record<string, unknown>)[String(field)] !== undefined;
      const msg =
        issue?.code === 'unrecognized_keys'
          ? `Too many or unknown options.`
          : !given && field !== undefined
            ? `Missing ${String(field)}.`
            : (issue?.message ?? 'Invalid options.');
      throw new UserError('bad_args', `${/[.!?]$/.test(msg) ? msg : `${msg}.`} Usage: ${usage(def)}`);
    }
    requireRole(ctx, inv, def.role, `use /${def.name}`);
    // The generic args type is checked by argsSchema at run time.
    return await def.run(ctx, parsed.data as never, inv);
  } catch (e) {
    outcome = outcomeOf(e);
    return errorToReply(ctx, e, { command: cmdName, platform: inv.platform, user: inv.actor.userId });
  } finally {
    const labels = { command: def?.name ?? 'unknown', transport: inv.platform };
    endTimer(labels);
    commandsTotal.inc({ ...labels, outcome });
  }
}

/** Routes a button click by the action of its versioned id. Unknown, foreign or outdated ids get a clear note. */
export async function dispatchButton(
  ctx: CommandContext,
  buttons: readonly ButtonDef[],
  customId: string,
  who: Invocation,
  progress?: ClickProgress,
): Promise<ButtonResult> {
  const inv = identify(ctx, who);
  let action = 'unknown';
  let outcome: CommandOutcome = 'ok';
  try {
    const refused = await accessRefusal(ctx, inv, `button ${String(customId).split(':')[1] ?? '?'}`.slice(0, 40));
    if (refused) {
      outcome = 'refused';
      return { notice: refused.text };
    }
    const id = parseButtonId(customId);
    const def = id && buttons.find((b) => b.action === id.action);
    if (!id || !def) {
      outcome = 'user_error';
      return { notice: 'This button is outdated or not from PerpDesk; run the command again.' };
    }
    action = def.action;
    requireRole(ctx, inv, def.role, 'use this button');
    const r = await def.run(ctx, id, inv, progress);
    const after = r.afterAnswer;
    if (!after) return r;
    return {
      ...r,
      afterAnswer: () =>
        after().catch((err: unknown) => ctx.log.error({ err, button: id.action, platform: inv.platform, user: inv.actor.userId }, 'work after a button answer failed')),
    };
  } catch (e) {
    outcome = outcomeOf(e);
    const r = errorToReply(ctx, e, { button: String(customId).slice(0, 100), platform: inv.platform, user: inv.actor.userId });
    return { notice: r.text ?? 'Error' };
  } finally {
    buttonClicksTotal.inc({ action, transport: inv.platform, outcome });
  }
}
