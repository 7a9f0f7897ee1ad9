import { open } from 'node:fs/promises';

/**
 * Makes a created or renamed directory entry durable: an fsync of the directory that holds it.
 * Without it a power loss can drop a new file or subdirectory — and every entry fsync'd into it.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
