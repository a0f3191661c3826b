/**
 * The floor of the Discord benches: a discord.js client that answers every button with an ephemeral line and every
 * slash command with a fixed embed, doing nothing else. Run as its own process by bot-process.ts; reads the same
 * DISCORD_TOKEN / DISCORD_API_URL as PerpDesk and prints "minimal bot ready" once connected.
 */
import { Client, Events, GatewayIntentBits, MessageFlags } from 'discord.js';

const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: process.env.DISCORD_API_URL! } });
client.on(Events.InteractionCreate, (ix) => {
  if (ix.isButton()) void ix.reply({ content: 'This order was already approved.', flags: MessageFlags.Ephemeral }).catch(() => {});
  else if (ix.isChatInputCommand()) void ix.reply({ embeds: [{ title: 'Funding BTC-PERP', description: '+0.0100% per 8h' }] }).catch(() => {});
});
client.once(Events.ClientReady, () => process.stdout.write('minimal bot ready\n'));
process.once('SIGINT', () => void client.destroy().then(() => process.exit(0)));
await client.login(process.env.DISCORD_TOKEN!);
