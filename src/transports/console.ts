import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseCommandText } from '../../commands/text.js';
import { usage } from '../../commands/define.js';
import type { Invocation } from '../../commands/context.js';
import type { Reply, ReplyButton } from '../chat/reply.js';
import { renderText } from './render.js';
import type { Desk, MessageRef, Notifier } from './desk.js';

export interface ConsoleOptions {
  desk: Desk;
  input: Readable;
  output: Writable;
  /** Show a prompt and keep history (a real terminal); off when fed from a pipe or a test. */
  interactive?: boolean;
  userName?: string;
  /** Where images (charts) are written so the console can show their path. */
  imageDir?: string;
  /**
   * The operator asked to stop: Ctrl-C at the prompt (readline takes the terminal's Ctrl-C, so no SIGINT reaches the
   * process) or Ctrl-D on an empty line. Only on an interactive console: a pipe that ends just ends input.
   */
  onQuit?: (reason: 'SIGINT' | 'end of input') => void;
  /** Input ended without a terminal (a closed pipe, /dev/null): the bot keeps running without a console. */
  onInputEnd?: () => void;
}

const CONSOLE_INVOCATION = (userName: string): Invocation => ({
  platform: 'console',
  actor: { platform: 'console', userId: 'console', displayName: userName, roleIds: [] },
  chatId: 'console',
});

/**
 * The default transport on the embedded defaults: type `/funding BTC-PERP`, answer buttons by typing their label
 * (e.g. `Approve`), alerts print as they arrive. Lines are handled one at a time, in order.
 */
export class ConsoleTransport implements Notifier {
  readonly platform = 'console' as const;
  #rl: Interface | undefined;
  #buttons: { button: ReplyButton; messageId: string }[] = [];
  #seq = 0;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #quitting = false;
  readonly #inv: Invocation;

  constructor(private readonly opts: ConsoleOptions) {
    this.#inv = CONSOLE_INVOCATION(opts.userName ?? 'console');
  }

  start(): void {
    const rl = createInterface({
      input: this.opts.input,
      output: this.opts.interactive ? this.opts.output : undefined,
      terminal: this.opts.interactive ?? false,
      historySize: 200,
    });
    this.#rl = rl;
    if (this.opts.interactive) rl.setPrompt('perpdesk> ');
    this.#write('PerpDesk console. Type /help for the commands, /funding BTC-PERP to start; Ctrl-C or Ctrl-D to quit.');
    this.#prompt();
    rl.on('line', (line) => {
      this.#queue = this.#queue.then(() => this.#handle(line)).catch(() => {}).then(() => this.#prompt());
    });
    // Without a listener readline turns Ctrl-C into a pause of the prompt, and the bot would only stop on a second one.
    rl.on('SIGINT', () => this.#quit('SIGINT'));
    rl.on('close', () => {
      if (this.#closed) return;
      // Answer what was typed before Ctrl-D (or before the pipe ended) first.
      void this.#queue.then(() => (this.opts.interactive ? this.#quit('end of input') : this.opts.onInputEnd?.()));
    });
  }

  #quit(reason: 'SIGINT' | 'end of input'): void {
    if (this.#closed || this.#quitting) return;
    this.#quitting = true;
    this.#write(reason === 'SIGINT' ? '\nStopping PerpDesk…' : 'Stopping PerpDesk…');
    this.opts.onQuit?.(reason);
  }

  /** Resolves after every line read so far has been answered. */
  idle(): Promise<void> {
    return this.#queue;
  }

  async #handle(line: string): Promise<void> {
    const text = line.trim();
    if (!text) return;
    const parsed = parseCommandText(text, this.opts.desk.commands);
    if (parsed === null) {
      const hit = [...this.#buttons].reverse().find((b) => b.button.label.toLowerCase() === text.toLowerCase());
      if (!hit) {
        this.#write(`Not a command. Type /help, or the label of a button shown above.`);
        return;
      }
      const r = await this.opts.desk.button(hit.button.id, this.#inv);
      if (r.update) {
        this.#buttons = this.#buttons.filter((b) => b.messageId !== hit.messageId);
        this.#print(r.update, hit.messageId);
      }
      if (r.notice) this.#write(r.notice);
      await r.afterAnswer?.();
      return;
    }
    if ('error' in parsed) {
      // Same answer as Telegram: say how the command is written, not only that it was wrong.
      const name = /^\/([a-z0-9_]+)/i.exec(text)?.[1]?.toLowerCase();
      const def = this.opts.desk.commands.find((c) => c.name === name);
      this.#write(def ? `${parsed.error} Usage: ${usage(def)}` : parsed.error);
      return;
    }
    const reply = await this.opts.desk.command(parsed.name, parsed.args, this.#inv);
    const messageId = this.#print(reply);
    if (reply.track) await this.opts.desk.messageSent(reply.track, { platform: 'console', chatId: 'console', messageId });
  }

  #print(reply: Reply, messageId = `c${++this.#seq}`): string {
    if (reply.image && !reply.image.path) {
      const dir = this.opts.imageDir ?? tmpdir();
      mkdirSync(dir, { recursive: true });
      const path = join(dir, reply.image.filename.replace(/[^A-Za-z0-9._-]/g, '_'));
      writeFileSync(path, reply.image.data);
      reply = { ...reply, image: { ...reply.image, path } };
    }
    for (const b of reply.buttons ?? []) this.#buttons.push({ button: b, messageId });
    this.#buttons = this.#buttons.slice(-50);
    this.#write(renderText(reply));
    return messageId;
  }

  #write(s: string): void {
    if (this.#closed) return;
    this.opts.output.write(`${s}\n`);
  }

  #prompt(): void {
    if (this.opts.interactive && !this.#closed) this.#rl?.prompt(true);
  }

  async send(_chatId: string, reply: Reply): Promise<MessageRef> {
    const messageId = this.#print(reply);
    this.#prompt();
    return { platform: 'console', chatId: 'console', messageId };
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    this.#buttons = this.#buttons.filter((b) => b.messageId !== ref.messageId);
    this.#print({ ...reply, title: reply.title ? `${reply.title} (updated)` : undefined }, ref.messageId);
    this.#prompt();
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#closed = true;
    this.#rl?.close();
  }
}
