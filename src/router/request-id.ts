import { randomFillSync } from "node:crypto";

/** Random bytes for 256 ids at a time (one system call per 256 requests). */
const POOL = Buffer.allocUnsafe(16 * 256);
let offset = POOL.length;
/** The id is written here as ASCII and read out as one string. */
const OUT = Buffer.allocUnsafe(36);
const HEX = Buffer.from("0123456789abcdef", "latin1");

/**
 * A random UUID (version 4, RFC 9562) for X-Request-Id, as crypto.randomUUID() makes one, but read
 * out as a single string: randomUUID joins 16 two-digit pieces and 4 dashes into the id, about
 * 0.6 KB of short-lived strings per request in the router's sampling heap profile (of ~8.8 KB in
 * all at 15,000 req/s), against one 36-character string here.
 */
export function newRequestId(): string {
  if (offset === POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const at = offset;
  offset += 16;
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) OUT[o++] = 45; // "-"
    let byte = POOL[at + i] as number;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // the RFC's variant
    OUT[o++] = HEX[byte >> 4] as number;
    OUT[o++] = HEX[byte & 15] as number;
  }
  return OUT.toString("latin1", 0, 36);
}
