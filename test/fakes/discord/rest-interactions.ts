import { discordError, isObject, type RestResult, type UploadedFile } from './http-io.js';
import type { StandInInteraction } from './interaction.js';
import { applyEdit, createMessage } from './message-body.js';
import { messageJson } from './payloads.js';
import type { Route, RouteContext } from './router.js';
import type { InteractionResponseRecord, JsonObject, StoredMessage } from './types.js';
import { INTERACTION_CREATE_FLAGS, validateChoices, validateMessageBody } from './validate.js';
import type { World } from './world.js';

/** Interaction callbacks and the interaction webhook (`@original`, follow-ups): the half of the REST API that a
 * bot uses to answer users, with Discord's acknowledgement rules enforced. */

export class InteractionRegistry {
  private readonly byId = new Map<string, StandInInteraction>();
  private readonly byToken = new Map<string, StandInInteraction>();

  add(ix: StandInInteraction): void {
    this.byId.set(ix.id, ix);
    this.byToken.set(ix.token, ix);
  }
  get(id: string): StandInInteraction | undefined {
    return this.byId.get(id);
  }
  withToken(token: string): StandInInteraction | undefined {
    return this.byToken.get(token);
  }
  all(): StandInInteraction[] {
    return [...this.byId.values()];
  }
}

const ALLOWED_CALLBACKS: Record<StandInInteraction['kind'], readonly number[]> = {
  command: [4, 5, 9],
  autocomplete: [8],
  button: [4, 5, 6, 7, 9],
};

const INTERACTION_TYPE: Record<StandInInteraction['kind'], number> = { command: 2, button: 3, autocomplete: 4 };

type Rejection = InteractionResponseRecord['rejected'];

export function interactionRoutes(world: World, registry: InteractionRegistry): Route[] {
  const respond = (
    ix: StandInInteraction,
    kind: InteractionResponseRecord['kind'],
    ctx: RouteContext,
    result: RestResult,
    extra: { callbackType?: number | null; rejected?: Rejection; attachments?: InteractionResponseRecord['attachments'] } = {},
  ): RestResult => {
    const now = Date.now();
    ix.record({
      kind,
      callbackType: extra.callbackType ?? null,
      body: isObject(ctx.body.json) ? ctx.body.json : null,
      attachments: extra.attachments ?? [],
      at: now,
      latencyMs: now - ix.dispatchedAt,
      status: result.status,
      rejected: extra.rejected ?? null,
    });
    return result;
  };

  const messageOf = (id: string | null): StoredMessage | undefined =>
    id === null ? undefined : world.messages.get(id);

  const channelOf = (ix: StandInInteraction): { channelId: string; guildId: string | null } => {
    const channelId = typeof ix.payload.channel_id === 'string' ? ix.payload.channel_id : '';
    const guildId = typeof ix.payload.guild_id === 'string' ? ix.payload.guild_id : null;
    return { channelId, guildId };
  };

  const callback = (ctx: RouteContext): RestResult => {
    const ix = registry.get(ctx.params.interaction ?? '');
    if (!ix || ix.token !== ctx.params.token) {
      world.recordUnhandled('rest', `${ctx.what} (no such interaction)`);
      return discordError(404, 10062, 'Unknown interaction');
    }
    const now = Date.now();
    const body = isObject(ctx.body.json) ? ctx.body.json : {};
    const type = typeof body.type === 'number' ? body.type : null;
    const isFirst = !ix.responses.some((r) => r.kind === 'callback');
    if (isFirst) ix.ackLatencyMs = now - ix.dispatchedAt;
    if (ix.acknowledgedWith !== null) {
      return respond(ix, 'callback', ctx, discordError(400, 40060, 'Interaction has already been acknowledged.'), {
        callbackType: type,
        rejected: 'already-acknowledged',
      });
    }
    if (now - ix.dispatchedAt > world.opts.ackDeadlineMs) {
      if (isFirst) ix.late = true;
      return respond(ix, 'callback', ctx, discordError(404, 10062, 'Unknown interaction'), { callbackType: type, rejected: 'late' });
    }
    if (type === null || !ALLOWED_CALLBACKS[ix.kind].includes(type)) {
      const err = discordError(400, 50035, 'Invalid Form Body', {
        type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: `Callback type ${String(type)} is not valid for a ${ix.kind} interaction` }] },
      });
      return respond(ix, 'callback', ctx, err, { callbackType: type, rejected: 'invalid' });
    }
    const data = isObject(body.data) ? body.data : {};
    const files: UploadedFile[] = ctx.body.files;
    let attachments: InteractionResponseRecord['attachments'] = [];
    let resourceMessage: StoredMessage | undefined;
    const where = channelOf(ix);
    if (type === 4 || type === 5) {
      if (type === 4) {
        const bad = validateMessageBody(data, { creating: true, fileCount: files.length, allowedFlags: INTERACTION_CREATE_FLAGS });
        if (bad) return respond(ix, 'callback', ctx, bad, { callbackType: type, rejected: 'invalid' });
      }
      const m = createMessage(
        { ...where, authorId: world.opts.botUserId, source: 'interaction', interactionId: ix.id },
        type === 4 ? data : { flags: typeof data.flags === 'number' ? data.flags : 0 },
        type === 4 ? files : [],
        now,
      );
      m.loading = type === 5;
      world.messages.set(m.id, m);
      attachments = m.attachments;
      ix.originalMessageId = m.id;
      resourceMessage = m;
    } else if (type === 6 || type === 7) {
      const m = messageOf(ix.componentMessageId);
      if (!m) return respond(ix, 'callback', ctx, discordError(404, 10008, 'Unknown Message'), { callbackType: type, rejected: 'unknown-message' });
      if (type === 7) {
        const bad = validateMessageBody(data, { creating: false, fileCount: files.length });
        if (bad) return respond(ix, 'callback', ctx, bad, { callbackType: type, rejected: 'invalid' });
        attachments = applyEdit(m, data, files, now);
        world.edits.push({ channelId: m.channelId, messageId: m.id, via: 'interaction-callback', body: data, attachments, at: now });
        resourceMessage = m;
      }
      ix.originalMessageId = m.id;
    } else if (type === 8) {
      const bad = validateChoices(data.choices);
      if (bad) return respond(ix, 'callback', ctx, bad, { callbackType: type, rejected: 'invalid' });
    } else if (type === 9) {
      if (typeof data.custom_id !== 'string' || typeof data.title !== 'string' || !Array.isArray(data.components)) {
        const bad = discordError(400, 50035, 'Invalid Form Body', { data: { _errors: [{ code: 'MODAL_INVALID', message: 'A modal needs custom_id, title and components' }] } });
        return respond(ix, 'callback', ctx, bad, { callbackType: type, rejected: 'invalid' });
      }
    }
    ix.acknowledgedWith = type;
    const withResponse = ctx.query.get('with_response') === 'true';
    const result: RestResult = withResponse
      ? {
          status: 200,
          body: {
            interaction: {
              id: ix.id,
              type: INTERACTION_TYPE[ix.kind],
              response_message_id: resourceMessage?.id ?? null,
              response_message_loading: type === 5,
              response_message_ephemeral: resourceMessage ? (resourceMessage.flags & 64) !== 0 : false,
            },
            resource: {
              type,
              ...(resourceMessage ? { message: messageJson(resourceMessage, world) } : {}),
            },
          },
        }
      : { status: 204 };
    return respond(ix, 'callback', ctx, result, { callbackType: type, attachments });
  };

  /** Resolves the interaction behind a webhook URL; Discord answers 10015 for any token it does not know. */
  const webhookIx = (ctx: RouteContext): StandInInteraction | RestResult => {
    const ix = registry.withToken(ctx.params.token ?? '');
    if (!ix || ctx.params.app !== world.opts.applicationId) {
      world.recordUnhandled('rest', `${ctx.what} (no such interaction webhook)`);
      return discordError(404, 10015, 'Unknown Webhook');
    }
    return ix;
  };

  const targetMessage = (
    ix: StandInInteraction,
    ref: string,
  ): { m: StoredMessage; kind: 'original' | 'followup' } | null => {
    if (ref === '@original' || ref === ix.originalMessageId) {
      const m = messageOf(ix.originalMessageId);
      return m && !m.deleted ? { m, kind: 'original' } : null;
    }
    if (!ix.followUpIds.includes(ref)) return null;
    const m = messageOf(ref);
    return m && !m.deleted ? { m, kind: 'followup' } : null;
  };

  const notAcked = (ix: StandInInteraction, ctx: RouteContext, kind: InteractionResponseRecord['kind']): RestResult =>
    respond(ix, kind, ctx, discordError(404, 10015, 'Unknown Webhook'), { rejected: 'not-acknowledged' });

  const editMessage = (ctx: RouteContext): RestResult => {
    const ix = webhookIx(ctx);
    if (!('token' in ix)) return ix;
    const ref = ctx.params.message ?? '';
    const kind = ref === '@original' || ref === ix.originalMessageId ? 'edit-original' : 'edit-followup';
    if (ix.acknowledgedWith === null) return notAcked(ix, ctx, kind);
    const t = targetMessage(ix, ref);
    if (!t) return respond(ix, kind, ctx, discordError(404, 10008, 'Unknown Message'), { rejected: 'unknown-message' });
    const body = isObject(ctx.body.json) ? ctx.body.json : {};
    const bad = validateMessageBody(body, { creating: false, fileCount: ctx.body.files.length });
    if (bad) return respond(ix, kind, ctx, bad, { rejected: 'invalid' });
    const added = applyEdit(t.m, body, ctx.body.files);
    world.edits.push({ channelId: t.m.channelId, messageId: t.m.id, via: 'webhook', body, attachments: added, at: Date.now() });
    return respond(ix, kind, ctx, { status: 200, body: messageJson(t.m, world) }, { attachments: added });
  };

  const getMessage = (ctx: RouteContext): RestResult => {
    const ix = webhookIx(ctx);
    if (!('token' in ix)) return ix;
    const t = targetMessage(ix, ctx.params.message ?? '');
    if (!t || t.m.loading) return discordError(404, 10008, 'Unknown Message');
    return { status: 200, body: messageJson(t.m, world) };
  };

  const deleteMessage = (ctx: RouteContext): RestResult => {
    const ix = webhookIx(ctx);
    if (!('token' in ix)) return ix;
    const ref = ctx.params.message ?? '';
    const kind = ref === '@original' || ref === ix.originalMessageId ? 'delete-original' : 'delete-followup';
    if (ix.acknowledgedWith === null) return notAcked(ix, ctx, kind);
    const t = targetMessage(ix, ref);
    if (!t) return respond(ix, kind, ctx, discordError(404, 10008, 'Unknown Message'), { rejected: 'unknown-message' });
    t.m.deleted = true;
    return respond(ix, kind, ctx, { status: 204 });
  };

  const followUp = (ctx: RouteContext): RestResult => {
    const ix = webhookIx(ctx);
    if (!('token' in ix)) return ix;
    if (ix.acknowledgedWith === null) return notAcked(ix, ctx, 'followup');
    const body = isObject(ctx.body.json) ? ctx.body.json : {};
    const bad = validateMessageBody(body, { creating: true, fileCount: ctx.body.files.length, allowedFlags: INTERACTION_CREATE_FLAGS });
    if (bad) return respond(ix, 'followup', ctx, bad, { rejected: 'invalid' });
    // Discord: the first follow-up after a deferred reply (type 5) fills in the "thinking…" message itself.
    const original = messageOf(ix.originalMessageId);
    let m: StoredMessage;
    let added: InteractionResponseRecord['attachments'];
    if (original && original.loading && !original.deleted) {
      const { flags: _ignored, ...rest } = body;
      added = applyEdit(original, rest as JsonObject, ctx.body.files);
      world.edits.push({ channelId: original.channelId, messageId: original.id, via: 'webhook', body, attachments: added, at: Date.now() });
      m = original;
    } else {
      m = createMessage(
        { ...channelOf(ix), authorId: world.opts.botUserId, source: 'followup', interactionId: ix.id },
        body,
        ctx.body.files,
      );
      world.messages.set(m.id, m);
      ix.followUpIds.push(m.id);
      added = m.attachments;
    }
    const result: RestResult = ctx.query.get('wait') === 'true' ? { status: 200, body: messageJson(m, world) } : { status: 204 };
    return respond(ix, 'followup', ctx, result, { attachments: added });
  };

  return [
    { method: 'POST', pattern: '/interactions/:interaction/:token/callback', auth: false, handle: callback },
    { method: 'GET', pattern: '/webhooks/:app/:token/messages/:message', auth: false, handle: getMessage },
    { method: 'PATCH', pattern: '/webhooks/:app/:token/messages/:message', auth: false, handle: editMessage },
    { method: 'DELETE', pattern: '/webhooks/:app/:token/messages/:message', auth: false, handle: deleteMessage },
    { method: 'POST', pattern: '/webhooks/:app/:token', auth: false, handle: followUp },
  ];
}
