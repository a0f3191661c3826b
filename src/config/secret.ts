import { inspect } from 'node:util';

/**
 * A token or API key. Printing, logging or JSON-encoding it shows `[redacted]`; only `reveal()` gives the value,
 * so a secret reaches a wire only where code asks for it by name.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
