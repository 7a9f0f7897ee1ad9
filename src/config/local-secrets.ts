import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../util/errors';

/** Shortest secret accepted from a state file: an empty or truncated file must never become a usable token. */
const MIN_SECRET_LENGTH = 16;

/**
 * Returns the secret stored at `<stateDir>/<name>`, creating it with `bytes` random bytes (hex)
 * on first use. The file is written whole under a temporary name and then linked into place, so
 * a process never reads a half-written secret and two processes starting at once end up with
 * the same value (the second link fails with EEXIST and that process reads the winner's). A file
 * that holds less than 16 characters stops the process with a message instead of yielding a
 * weak or empty token.
 */
export function loadOrCreateLocalSecret(stateDir: string, name: string, bytes: number): string {
  const path = join(stateDir, name);
  const existing = readSecret(path);
  if (existing !== undefined) return existing;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(bytes).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  const created = readSecret(path);
  if (created === undefined) throw new ConfigError(`could not create ${path}`);
  return created;
}

function readSecret(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (text.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `${path} holds ${text.length === 0 ? 'nothing' : `only ${text.length} characters`}; a secret needs at least ${MIN_SECRET_LENGTH}. Delete the file to have a new one generated, or set the variable it stands for`,
    );
  }
  return text;
}
