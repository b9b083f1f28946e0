import { BlockList, isIP } from "node:net";

/**
 * The address a request comes from, for throttling and sessions. X-Forwarded-For is written by
 * whoever sent the request, so it is believed only hop by hop from the right, and only while the
 * hop that appended an entry is one of the configured reverse proxies (SCALEBOARD_TRUSTED_PROXIES).
 */
export type TrustedProxies = { check: (address: string) => boolean };

const NAMED_RANGES: Record<string, [string, number][]> = {
  loopback: [
    ["127.0.0.0", 8],
    ["::1", 128],
  ],
  private: [
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
    ["fc00::", 7],
  ],
};

/** Entries are IPv4/IPv6 addresses, CIDR ranges, `loopback` or `private` (as server/env.ts accepts them). */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) {
    const named = NAMED_RANGES[entry];
    if (named) {
      for (const [network, prefix] of named) list.addSubnet(network, prefix, isIP(network) === 6 ? "ipv6" : "ipv4");
      continue;
    }
    const [network = "", prefixText] = entry.split("/");
    const family = isIP(network);
    if (!family)
      throw new Error(`SCALEBOARD_TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    const type = family === 6 ? "ipv6" : "ipv4";
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new Error(
        `SCALEBOARD_TRUSTED_PROXIES: ${JSON.stringify(entry)} has a prefix outside 0-${family === 6 ? 128 : 32}`,
      );
    }
    list.addSubnet(network, prefix, type);
  }
  return {
    check: (address) => {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
    },
  };
}

/** An address as written in a header or by the socket: IPv4-mapped IPv6 becomes IPv4; ports and brackets go. */
export function plainAddress(raw: string): string | null {
  let value = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) value = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(":"));
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(value);
  if (mapped?.[1]) value = mapped[1];
  return isIP(value) ? value.toLowerCase() : null;
}

/**
 * The client: start from the socket's peer; while the current hop is a trusted proxy, step one
 * entry left in X-Forwarded-For. A malformed entry ends the walk at the proxy that passed it on.
 */
export function resolveClientAddress(
  peer: string | null,
  forwardedFor: string | null,
  proxies: TrustedProxies,
): string | null {
  let client = peer === null ? null : plainAddress(peer);
  if (client === null) return null;
  const hops = (forwardedFor ?? "")
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let index = hops.length - 1; index >= 0 && proxies.check(client); index--) {
    const hop = plainAddress(hops[index]!);
    if (hop === null) break;
    client = hop;
  }
  return client;
}

/**
 * The key addresses are counted under: an IPv6 client controls its whole /64, so that is one key;
 * IPv4 addresses stay as they are.
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = "", tail = ""] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = address.includes("::") ? (tail ? tail.split(":") : []) : [];
  const groups = address.includes("::")
    ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group || "0", 16).toString(16))
    .join(":")}::/64`;
}
