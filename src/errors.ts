/** A mistake the user can fix; its message is shown exactly as written. */
export class UserError extends Error {
  constructor(
    readonly identifier: string,
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The user lacks the role a command or button needs. */
export class PermissionError extends UserError {
  constructor(message: string) {
    super('forbidden', message);
    this.name = 'PermissionError';
  }
}

/** A configuration value is missing or invalid; start-up prints `message` and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** Short reference shown to users for internal errors, so they can be matched with the logged stack. */
export function errorRef(): string {
  return Math.random().toString(16).slice(2, 6).padEnd(4, '0');
}
