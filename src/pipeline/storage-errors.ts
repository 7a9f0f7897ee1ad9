/**
 * Which database errors are the fault of the data in a batch. SQLSTATE classes 22 (data
 * exception), 23 (integrity constraint violation) and 54 (program limit exceeded, e.g. an index
 * row too large) come from a value; the batch is split until the input carrying it is alone. Any
 * other failure (lost connection, deadlock, Postgres down) says nothing about an input: it is
 * retried or spooled by the caller, never blamed on one.
 */
export function isStorageDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/** Inserts kept losing races to concurrent writers of the same conversions; safe to retry the batch. */
export class StorageConflictError extends Error {
  constructor() {
    super('registration kept conflicting with concurrent writes; the batch was rolled back and is safe to retry');
    this.name = 'StorageConflictError';
  }
}
