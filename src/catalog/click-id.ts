import { randomBytes } from 'node:crypto';

/** Crockford's base32 in lower case: digits sort before letters, so ids sort by time. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const ISSUED_CLICK_ID_LENGTH = 24;

/**
 * A new click id: 24 lower-case base32 characters encoding 48 bits of milliseconds followed by
 * 72 random bits. Time ordering keeps inserts at the right edge of the primary-key index;
 * lower-case alphanumerics survive every network's sub-id rules.
 */
export function newClickId(now: number = Date.now()): string {
  const random = randomBytes(9);
  let value = BigInt(now) & 0xffff_ffff_ffffn;
  for (const byte of random) value = (value << 8n) | BigInt(byte);
  let out = '';
  for (let index = 0; index < ISSUED_CLICK_ID_LENGTH; index += 1) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/** Milliseconds encoded in an issued click id (undefined for imported ids of another shape). */
export function clickIdTime(clickId: string): number | undefined {
  if (clickId.length !== ISSUED_CLICK_ID_LENGTH) return undefined;
  let value = 0n;
  for (const character of clickId) {
    const digit = ALPHABET.indexOf(character);
    if (digit < 0) return undefined;
    value = (value << 5n) | BigInt(digit);
  }
  return Number(value >> 72n);
}
