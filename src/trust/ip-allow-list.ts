import { BlockList, isIP } from 'node:net';

const cache = new Map<string, BlockList>();

/** The address without an IPv4-mapped IPv6 prefix (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** Whether `ip` is inside any of the addresses or CIDRs of `list`. */
export function ipInList(list: readonly string[], ip: string | null | undefined): boolean {
  if (!ip) return false;
  const address = plainAddress(ip);
  const family = isIP(address);
  if (family === 0) return false;
  const key = list.join(',');
  let blockList = cache.get(key);
  if (!blockList) {
    blockList = new BlockList();
    for (const cidr of list) {
      const [network = '', prefix] = cidr.split('/');
      const type = isIP(network) === 6 ? 'ipv6' : 'ipv4';
      blockList.addSubnet(network, Number(prefix ?? (type === 'ipv6' ? 128 : 32)), type);
    }
    // Lists change rarely; a bounded cache keeps a long-running process from growing with edits.
    if (cache.size > 1000) cache.clear();
    cache.set(key, blockList);
  }
  return blockList.check(address, family === 6 ? 'ipv6' : 'ipv4');
}
