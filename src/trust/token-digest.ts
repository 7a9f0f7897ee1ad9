import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What is kept of a postback token: an HMAC under SECRET_KEY. The attempt log stores the digest
 * of the token a request presented (never the token), so that an attempt whose network was not
 * known at receipt can be judged later; networks store the digest of their own token so that the
 * judgement never needs the token itself.
 */
export function tokenDigest(secretKey: Buffer, token: string): string {
  return createHmac('sha256', secretKey).update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of two digests (hex). */
export function sameDigest(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
