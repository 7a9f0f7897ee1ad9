/**
 * Errors that carry a message meant for an operator: what was wrong and how to fix it.
 * The CLI prints `message` on one line; the HTTP layer maps `code`/`statusCode` to its error body.
 */
export class TallyError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A configuration value (environment variable or config file) is missing or malformed. */
export class ConfigError extends TallyError {
  constructor(message: string) {
    super(message, 'invalid_config', 500);
  }
}

/** Input from a user (CLI argument, API body, CSV file) that cannot be accepted. */
export class InputError extends TallyError {
  constructor(message: string, code = 'invalid_input') {
    super(message, code, 400);
  }
}

/** A referenced record does not exist. */
export class NotFoundError extends TallyError {
  constructor(message: string, code = 'not_found') {
    super(message, code, 404);
  }
}
