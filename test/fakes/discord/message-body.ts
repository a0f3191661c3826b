import { isObject, type UploadedFile } from './http-io.js';
import { nextSnowflake } from './snowflake.js';
import type { AttachmentRecord, Json, JsonObject, StoredMessage } from './types.js';

/** How a create/edit body plus its uploaded files turns into message state, following Discord's rules: absent
 * fields are left alone, null clears, and `attachments` in an edit lists which existing attachments survive. */

function objects(v: Json | undefined): JsonObject[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** Pairs each `files[n]` part with the `attachments[]` entry whose id is n (that entry may rename it). */
export function newAttachments(body: JsonObject, files: UploadedFile[]): AttachmentRecord[] {
  const declared = objects(body.attachments);
  return files.map((f) => {
    const meta = declared.find((a) => f.index !== null && String(a.id) === String(f.index));
    return {
      id: nextSnowflake(),
      filename: typeof meta?.filename === 'string' ? meta.filename : f.filename,
      size: f.size,
      contentType: f.contentType,
      description: typeof meta?.description === 'string' ? meta.description : null,
    };
  });
}

export function createMessage(
  base: Pick<StoredMessage, 'channelId' | 'guildId' | 'authorId' | 'source' | 'interactionId'>,
  body: JsonObject,
  files: UploadedFile[],
  now: number = Date.now(),
): StoredMessage {
  return {
    ...base,
    id: nextSnowflake(now),
    content: typeof body.content === 'string' ? body.content : '',
    embeds: objects(body.embeds),
    components: objects(body.components),
    attachments: newAttachments(body, files),
    flags: typeof body.flags === 'number' ? body.flags : 0,
    createdAt: now,
    editedAt: null,
    deleted: false,
    loading: false,
  };
}

/** Applies an edit in place and returns the attachments it added. */
export function applyEdit(m: StoredMessage, body: JsonObject, files: UploadedFile[], now: number = Date.now()): AttachmentRecord[] {
  if ('content' in body) m.content = typeof body.content === 'string' ? body.content : '';
  if ('embeds' in body) m.embeds = objects(body.embeds);
  if ('components' in body) m.components = objects(body.components);
  if (typeof body.flags === 'number') m.flags = body.flags;
  const added = newAttachments(body, files);
  if ('attachments' in body) {
    const keep = new Set(objects(body.attachments).map((a) => String(a.id)));
    m.attachments = m.attachments.filter((a) => keep.has(a.id));
  }
  m.attachments = [...m.attachments, ...added];
  m.editedAt = now;
  m.loading = false;
  return added;
}
