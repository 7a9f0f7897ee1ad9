import { randomFillSync } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its canonical textual form. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Random bytes fetched at once and handed out ten at a time (one syscall per ~400 ids). */
const POOL_SIZE = 4096;
const RANDOM_PER_ID = 10;
let pool = Buffer.alloc(0);
let offset = POOL_SIZE;

function randomBytes10(): Buffer {
  if (offset + RANDOM_PER_ID > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    offset = 0;
  }
  const slice = pool.subarray(offset, offset + RANDOM_PER_ID);
  offset += RANDOM_PER_ID;
  return slice;
}

const HEX: string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Request ids
 * become the ledger's unique `intake_id`; ids that grow with time are appended at the right edge
 * of that index instead of landing on a random page of it, which keeps the index's working set
 * and the WAL's full-page images small as the ledger grows.
 */
export function uuidV7(now: number = Date.now()): string {
  const random = randomBytes10();
  const bytes = new Array<string>(16);
  let time = now;
  for (let index = 5; index >= 0; index -= 1) {
    bytes[index] = HEX[time % 256] as string;
    time = Math.floor(time / 256);
  }
  bytes[6] = HEX[0x70 | ((random[0] as number) & 0x0f)] as string;
  bytes[7] = HEX[random[1] as number] as string;
  bytes[8] = HEX[0x80 | ((random[2] as number) & 0x3f)] as string;
  for (let index = 9; index < 16; index += 1) bytes[index] = HEX[random[index - 6] as number] as string;
  return `${bytes[0]}${bytes[1]}${bytes[2]}${bytes[3]}-${bytes[4]}${bytes[5]}-${bytes[6]}${bytes[7]}-${bytes[8]}${bytes[9]}-${bytes[10]}${bytes[11]}${bytes[12]}${bytes[13]}${bytes[14]}${bytes[15]}`;
}
