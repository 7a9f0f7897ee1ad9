import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { syncDirectory } from './sync-directory';

/**
 * Who owns a spool subdirectory: its name says so — `<host>~<pid>~<process start>~<nonce>`, with
 * `.<n>` appended when the owner adopted it from a process that was gone. The start time guards
 * against a recycled pid; the host keeps a process from judging another machine's processes
 * (SPOOL_DIR belongs on a local disk, but a shared one must not make a live spool look orphaned).
 */
export interface SpoolOwner {
  readonly host: string;
  readonly pid: number;
  readonly start: string;
  readonly nonce: string;
}

const SEPARATOR = '~';
const NAME_PATTERN = /^([A-Za-z0-9.-]+)~(\d+)~([0-9a-z]+)~([0-9a-f]+)(?:\.(\d+))?$/;

/** This process as a spool owner. */
export function currentOwner(): SpoolOwner {
  return { host: safeHost(), pid: process.pid, start: processStart(process.pid) ?? '0', nonce: randomBytes(4).toString('hex') };
}

export function ownerName(owner: SpoolOwner): string {
  return [owner.host, owner.pid, owner.start, owner.nonce].join(SEPARATOR);
}

/** The owner a subdirectory name names, or undefined for anything else found in SPOOL_DIR. */
export function parseOwner(name: string): SpoolOwner | undefined {
  const match = NAME_PATTERN.exec(name);
  if (!match) return undefined;
  return { host: match[1] as string, pid: Number(match[2]), start: match[3] as string, nonce: match[4] as string };
}

/**
 * Whether the owner may still be writing: another machine's processes always count as alive; on
 * this machine the pid must run and (where /proc says) have started when the owner did.
 */
export function ownerAlive(owner: SpoolOwner): boolean {
  if (owner.host !== safeHost()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(owner.pid);
  return start === undefined || owner.start === '0' || start === owner.start;
}

/**
 * Takes over every subdirectory of `spoolDir` whose owner is gone by renaming it under this
 * owner's name: a rename is atomic, so when two processes race for one directory exactly one
 * gets it. Returns the adopted directories.
 */
export async function adoptOrphans(spoolDir: string, ownName: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(spoolDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const adopted: string[] = [];
  for (const name of names) {
    const owner = parseOwner(name);
    if (!owner || name === ownName || name.startsWith(`${ownName}.`) || ownerAlive(owner)) continue;
    const target = join(spoolDir, `${ownName}.${Date.now()}${randomBytes(2).readUInt16BE(0)}`);
    try {
      await rename(join(spoolDir, name), target);
      adopted.push(target);
    } catch (error) {
      // Someone else adopted it first (ENOENT), or it is not a directory we can move.
      if (!['ENOENT', 'EEXIST', 'ENOTEMPTY', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
  // The renames must survive a power loss: otherwise the orphan could come back under its old
  // name after this process drained it (replays would be no-ops, but not free).
  if (adopted.length > 0) await syncDirectory(spoolDir);
  return adopted;
}

function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 64) || 'host';
}

/** A process's start time in clock ticks since boot (Linux /proc), base 36; undefined elsewhere. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks === undefined ? undefined : Number(ticks).toString(36);
  } catch {
    return undefined;
  }
}
