import { discordError, isObject, type RestResult } from './http-io.js';
import type { Json, JsonObject } from './types.js';

/** The subset of Discord's form validation a bot most often trips over, answered with Discord's 50035 envelope so
 * the client surfaces the same DiscordAPIError it would get in production. */

type Problem = { path: (string | number)[]; code: string; message: string };

function invalidForm(problems: Problem[]): RestResult {
  const errors: JsonObject = {};
  for (const p of problems) {
    let node: JsonObject = errors;
    for (const key of p.path) {
      const k = String(key);
      const next = node[k];
      if (isObject(next)) node = next;
      else {
        const created: JsonObject = {};
        node[k] = created;
        node = created;
      }
    }
    const list = Array.isArray(node._errors) ? node._errors : [];
    list.push({ code: p.code, message: p.message });
    node._errors = list;
  }
  return discordError(400, 50035, 'Invalid Form Body', errors);
}

function str(v: Json | undefined): string | null {
  return typeof v === 'string' ? v : null;
}

function maxLen(problems: Problem[], path: Problem['path'], v: Json | undefined, max: number, min = 0): number {
  if (v === undefined || v === null) {
    if (min > 0) problems.push({ path, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
    return 0;
  }
  const s = str(v);
  if (s === null) {
    problems.push({ path, code: 'STRING_TYPE_CONVERT', message: 'Could not interpret value as string.' });
    return 0;
  }
  if (s.length > max) problems.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${max} or fewer in length.` });
  if (s.length < min) problems.push({ path, code: 'BASE_TYPE_MIN_LENGTH', message: `Must be ${min} or more in length.` });
  return s.length;
}

function checkEmbeds(problems: Problem[], embeds: Json | undefined): void {
  if (embeds === undefined || embeds === null) return;
  if (!Array.isArray(embeds)) {
    problems.push({ path: ['embeds'], code: 'LIST_TYPE_CONVERT', message: 'Only iterables may be used in a ListType' });
    return;
  }
  if (embeds.length > 10) problems.push({ path: ['embeds'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 10 or fewer in length.' });
  let total = 0;
  embeds.forEach((e, i) => {
    if (!isObject(e)) return;
    total += maxLen(problems, ['embeds', i, 'title'], e.title, 256);
    total += maxLen(problems, ['embeds', i, 'description'], e.description, 4096);
    if (isObject(e.footer)) total += maxLen(problems, ['embeds', i, 'footer', 'text'], e.footer.text, 2048);
    if (isObject(e.author)) total += maxLen(problems, ['embeds', i, 'author', 'name'], e.author.name, 256);
    if (Array.isArray(e.fields)) {
      if (e.fields.length > 25) problems.push({ path: ['embeds', i, 'fields'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
      e.fields.forEach((f, j) => {
        if (!isObject(f)) return;
        total += maxLen(problems, ['embeds', i, 'fields', j, 'name'], f.name, 256, 1);
        total += maxLen(problems, ['embeds', i, 'fields', j, 'value'], f.value, 1024, 1);
      });
    }
  });
  if (total > 6000) problems.push({ path: ['embeds'], code: 'MAX_EMBED_SIZE_EXCEEDED', message: 'Embed size exceeds maximum size of 6000' });
}

function checkComponents(problems: Problem[], components: Json | undefined): void {
  if (!Array.isArray(components)) return;
  if (components.length > 5) problems.push({ path: ['components'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 5 or fewer in length.' });
  const seen = new Set<string>();
  components.forEach((row, i) => {
    if (!isObject(row) || !Array.isArray(row.components)) return;
    if (row.components.length > 5) problems.push({ path: ['components', i, 'components'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 5 or fewer in length.' });
    row.components.forEach((c, j) => {
      if (!isObject(c)) return;
      const path = ['components', i, 'components', j];
      if (c.type === 2 && c.style === 5) return;
      const id = str(c.custom_id);
      if (id === null) {
        problems.push({ path: [...path, 'custom_id'], code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
        return;
      }
      maxLen(problems, [...path, 'custom_id'], id, 100, 1);
      if (c.type === 2) maxLen(problems, [...path, 'label'], c.label, 80);
      if (seen.has(id)) problems.push({ path: [...path, 'custom_id'], code: 'COMPONENT_CUSTOM_ID_DUPLICATED', message: 'Component custom id cannot be duplicated' });
      seen.add(id);
    });
  });
}

/** Message flags a client may set (Discord's message flag table). */
export const MESSAGE_FLAGS = {
  SUPPRESS_EMBEDS: 1 << 2,
  EPHEMERAL: 1 << 6,
  SUPPRESS_NOTIFICATIONS: 1 << 12,
  IS_VOICE_MESSAGE: 1 << 13,
  IS_COMPONENTS_V2: 1 << 15,
} as const;
/** Create Message: "only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, and IS_COMPONENTS_V2 can be set". */
export const CHANNEL_CREATE_FLAGS =
  MESSAGE_FLAGS.SUPPRESS_EMBEDS | MESSAGE_FLAGS.SUPPRESS_NOTIFICATIONS | MESSAGE_FLAGS.IS_VOICE_MESSAGE | MESSAGE_FLAGS.IS_COMPONENTS_V2;
/** Interaction replies and follow-ups may be ephemeral too. */
export const INTERACTION_CREATE_FLAGS = CHANNEL_CREATE_FLAGS | MESSAGE_FLAGS.EPHEMERAL;
/** Edit Message: "only SUPPRESS_EMBEDS can currently be set/unset"; every other bit keeps its value. */
export const EDITABLE_FLAGS = MESSAGE_FLAGS.SUPPRESS_EMBEDS;

function checkFlags(problems: Problem[], flags: Json | undefined, allowed: number): void {
  if (flags === undefined || flags === null) return;
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0) {
    problems.push({ path: ['flags'], code: 'NUMBER_TYPE_COERCE', message: `Value "${String(flags)}" is not int.` });
    return;
  }
  if ((flags & ~allowed) !== 0) {
    problems.push({ path: ['flags'], code: 'MESSAGE_FLAGS_INVALID', message: `Flags ${flags & ~allowed} cannot be set on this message.` });
  }
}

/**
 * Validates a message create/edit body (channel message, interaction reply, webhook message). `allowedFlags` (creates
 * only) refuses any other flag bit; without it flags are not checked.
 */
export function validateMessageBody(body: JsonObject, opts: { creating: boolean; fileCount: number; allowedFlags?: number }): RestResult | null {
  const problems: Problem[] = [];
  if (opts.allowedFlags !== undefined) checkFlags(problems, body.flags, opts.allowedFlags);
  maxLen(problems, ['content'], body.content, 2000);
  checkEmbeds(problems, body.embeds);
  checkComponents(problems, body.components);
  if (problems.length > 0) return invalidForm(problems);
  if (opts.creating) {
    const hasContent = typeof body.content === 'string' && body.content.length > 0;
    const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0;
    const hasComponents = Array.isArray(body.components) && body.components.length > 0;
    const hasExtras = body.sticker_ids !== undefined || body.poll !== undefined;
    if (!hasContent && !hasEmbeds && !hasComponents && !hasExtras && opts.fileCount === 0) {
      return discordError(400, 50006, 'Cannot send an empty message');
    }
  }
  return null;
}

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

function checkName(problems: Problem[], path: Problem['path'], v: Json | undefined): void {
  const s = str(v);
  if (s === null || !NAME.test(s) || s !== s.toLowerCase()) {
    problems.push({ path, code: 'APPLICATION_COMMAND_INVALID_NAME', message: `Command name is invalid: ${JSON.stringify(v ?? null)}` });
  }
}

function checkChoices(problems: Problem[], path: Problem['path'], choices: Json | undefined): void {
  if (!Array.isArray(choices)) return;
  if (choices.length > 25) problems.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
  choices.forEach((c, i) => {
    if (!isObject(c)) return;
    maxLen(problems, [...path, i, 'name'], c.name, 100, 1);
    if (typeof c.value === 'string') maxLen(problems, [...path, i, 'value'], c.value, 100);
  });
}

function checkOptions(problems: Problem[], path: Problem['path'], options: Json | undefined): void {
  if (!Array.isArray(options)) return;
  if (options.length > 25) problems.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
  let sawOptional = false;
  const names = new Set<string>();
  options.forEach((o, i) => {
    if (!isObject(o)) return;
    checkName(problems, [...path, i, 'name'], o.name);
    maxLen(problems, [...path, i, 'description'], o.description, 100, 1);
    const name = str(o.name);
    if (name !== null && names.has(name)) problems.push({ path: [...path, i, 'name'], code: 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', message: 'Option names must be unique' });
    if (name !== null) names.add(name);
    if (o.required === true && sawOptional) {
      problems.push({ path: [...path, i, 'required'], code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', message: 'Required options must be placed before non-required options' });
    }
    if (o.required !== true && o.type !== 1 && o.type !== 2) sawOptional = true;
    if (o.autocomplete === true && Array.isArray(o.choices) && o.choices.length > 0) {
      problems.push({ path: [...path, i, 'autocomplete'], code: 'APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES', message: 'Autocomplete cannot be set with choices' });
    }
    checkChoices(problems, [...path, i, 'choices'], o.choices);
    checkOptions(problems, [...path, i, 'options'], o.options);
  });
}

/** Validates a bulk-overwrite (PUT) or single create (POST) of application commands. */
export function validateCommands(commands: Json[]): RestResult | null {
  const problems: Problem[] = [];
  if (commands.length > 100) problems.push({ path: [], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 100 or fewer in length.' });
  const names = new Set<string>();
  commands.forEach((c, i) => {
    if (!isObject(c)) {
      problems.push({ path: [i], code: 'DICT_TYPE_CONVERT', message: 'Only dictionaries may be used in a DictType' });
      return;
    }
    const chatInput = c.type === undefined || c.type === 1;
    if (chatInput) {
      checkName(problems, [i, 'name'], c.name);
      maxLen(problems, [i, 'description'], c.description, 100, 1);
    } else {
      maxLen(problems, [i, 'name'], c.name, 32, 1);
    }
    const key = `${String(c.type ?? 1)}:${str(c.name) ?? ''}`;
    if (names.has(key)) problems.push({ path: [i, 'name'], code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: `Application command names must be unique` });
    names.add(key);
    checkOptions(problems, [i, 'options'], c.options);
  });
  return problems.length > 0 ? invalidForm(problems) : null;
}

export function validateChoices(choices: Json | undefined): RestResult | null {
  const problems: Problem[] = [];
  if (!Array.isArray(choices)) {
    problems.push({ path: ['data', 'choices'], code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
  } else {
    checkChoices(problems, ['data', 'choices'], choices);
  }
  return problems.length > 0 ? invalidForm(problems) : null;
}
