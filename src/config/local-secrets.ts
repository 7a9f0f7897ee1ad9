import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Returns the secret stored at `<stateDir>/<name>`, creating it with `bytes` random bytes (hex)
 * on first use. The file is created exclusively (mode 0600) so that two processes starting at
 * once end up with the same value.
 */
export function loadOrCreateLocalSecret(stateDir: string, name: string, bytes: number): string {
  const path = join(stateDir, name);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, `${randomBytes(bytes).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(path, 'utf8').trim();
}
