import type { OptionSpec } from './define.js';

export const symbolOption = {
  name: 'symbol',
  description: 'Perpetual, e.g. BTC-PERP (btc and BTC work too)',
  type: 'string',
  required: true,
  autocomplete: 'symbol',
  maxLength: 40,
} as const satisfies OptionSpec;
