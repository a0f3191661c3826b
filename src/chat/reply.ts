/** Transport-neutral answer of a command or button; transports only translate it (src/transports/render.ts). */

export type Severity = 'info' | 'success' | 'warning' | 'critical';
export type ButtonStyle = 'primary' | 'secondary' | 'success' | 'danger';

export interface ReplyField {
  name: string;
  value: string;
  inline?: boolean;
}

export interface ReplyButton {
  /** Encoded, versioned id (src/chat/button-id.ts); < 64 bytes so Telegram takes it too. */
  id: string;
  label: string;
  style: ButtonStyle;
}

export interface ReplyTable {
  headers: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  align?: ('left' | 'right')[];
}

export interface ReplyImage {
  filename: string;
  data: Buffer;
  /** Where the file was also written, for the console. */
  path?: string;
  alt?: string;
}

export interface Reply {
  title?: string;
  text?: string;
  fields?: ReplyField[];
  table?: ReplyTable;
  severity?: Severity;
  buttons?: ReplyButton[];
  image?: ReplyImage;
  footer?: string;
  /** Shown only to the person who asked, where the platform can. */
  ephemeral?: boolean;
  /**
   * Set on messages PerpDesk edits later (an order preview, a critical alert): after sending, the transport
   * reports where the message landed with `Desk.messageSent(track, ref)` so the final state edits it in place.
   */
  track?: string;
}

export function userErrorReply(message: string): Reply {
  return { text: message, severity: 'warning', ephemeral: true };
}
