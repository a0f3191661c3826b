/**
 * A log-safe summary of an error from discord.js. Its REST errors carry the request URL (for an interaction reply:
 * `/interactions/<id>/<token>/callback`, the interaction token) and the request body (what was being sent): neither
 * may reach a log line, so only the name, the Discord code, the HTTP status and the message are kept, with any
 * secret scrubbed from the message too.
 */
export interface DiscordErrorSummary {
  name: string;
  code?: number | string;
  status?: number;
  message: string;
}

export function describeDiscordError(e: unknown, secrets: readonly (string | null | undefined)[] = []): DiscordErrorSummary {
  const err = (e ?? {}) as { name?: unknown; code?: unknown; status?: unknown; message?: unknown };
  let message = typeof err.message === 'string' ? err.message : String(e);
  for (const s of secrets) if (s && s.length >= 8) message = message.split(s).join('[redacted]');
  const out: DiscordErrorSummary = { name: typeof err.name === 'string' ? err.name : 'Error', message: message.slice(0, 300) };
  if (typeof err.code === 'number' || typeof err.code === 'string') out.code = err.code;
  if (typeof err.status === 'number') out.status = err.status;
  return out;
}
