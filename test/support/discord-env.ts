// No vitest import here: benches use this too.

/** The PerpDesk environment that points the Discord transport at a stand-in (guild registration). */
export function discordEnv(d: { token: string; applicationId: string; guildId: string; url: string }): Record<string, string> {
  return { DISCORD_TOKEN: d.token, DISCORD_APPLICATION_ID: d.applicationId, DISCORD_GUILD_ID: d.guildId, DISCORD_API_URL: d.url };
}
