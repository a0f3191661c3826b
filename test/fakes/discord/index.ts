/** Local Discord stand-in for tests and benches: see README.md in this folder. */
export { DiscordStandIn, startDiscordStandIn } from './stand-in.js';
export { StandInInteraction, type FinalOptions, type WaitOptions, type InteractionKind } from './interaction.js';
export type { AutocompleteSpec, ButtonSpec, InvokerSpec, OptionValue, SlashCommandSpec } from './interaction-payloads.js';
export { CHANNEL_MESSAGES_ROUTE } from './rest-resources.js';
export type * from './types.js';
