import { isIP } from 'node:net';

/**
 * An address as Postgres can store it (`inet`), or null. With TRUST_PROXY the address comes
 * from `X-Forwarded-For`, which a trusted proxy passes on as the client wrote it: anything that
 * is not an IP address (`not-an-ip`, a port suffix, an IPv6 zone) must not reach a column of type
 * inet, where it would fail the whole batch the request was committed with.
 */
export function storableAddress(address: string | null | undefined): string | null {
  if (!address) return null;
  // An IPv6 zone (fe80::1%eth0) names the receiving interface, not the client; inet refuses it.
  const zone = address.indexOf('%');
  const plain = zone > 0 && address.includes(':') ? address.slice(0, zone) : address;
  return isIP(plain) === 0 ? null : plain;
}
