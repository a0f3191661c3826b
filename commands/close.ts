import { defineCommand } from './define.js';
import { symbolOption } from './symbol-option.js';
import { buildPreview, offerPreview } from './order.js';
import { previewClose } from '../src/services/orders/preview.js';

export default defineCommand({
  name: 'close',
  description: 'Preview a reduce-only close of a position; Approve/Reject buttons decide',
  role: 'trader',
  sideEffect: 'order',
  slow: true,
  options: [symbolOption],
  async run(ctx, args, inv) {
    return offerPreview(ctx, await buildPreview(ctx, inv, args.symbol, () => previewClose(ctx, { symbol: args.symbol })), inv);
  },
});
