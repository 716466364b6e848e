import { BlockList, isIP } from "node:net";

/**
 * The peers whose X-Forwarded-* headers the router believes (`baton router --trusted-proxy`): a
 * load balancer or TLS terminator in front of it. From anyone else those headers are whatever the
 * client chose to write, so they are dropped and the router's own view (the peer address, its own
 * scheme, host and port) is sent instead: an app reading X-Forwarded-For gets the real client.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** Addresses or CIDR ranges ("10.0.0.0/8", "::1"); throws on anything else. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = "", prefix] = entry.split("/");
      const family = isIP(address);
      if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR range`);
      const type = family === 4 ? "ipv4" : "ipv6";
      if (prefix === undefined) {
        this.list.addAddress(address, type);
        continue;
      }
      const bits = Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
        throw new Error(`"${entry}" has an invalid prefix length`);
      }
      this.list.addSubnet(address, bits, type);
    }
    this.size = entries.length;
  }

  /** Whether a peer (as `socket.remoteAddress` gives it, IPv4-mapped or not) is trusted. */
  has(address: string | undefined): boolean {
    if (this.size === 0 || address === undefined) return false;
    if (address.startsWith("::ffff:") && isIP(address.slice(7)) === 4) return this.list.check(address.slice(7), "ipv4");
    return this.list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
  }
}
