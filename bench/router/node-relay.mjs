// A floor, not a proxy: each client connection is relayed byte for byte to its own connection to
// an upstream (round robin per client connection), with no HTTP parsing at all. It makes the same
// system calls per request as a keep-alive HTTP proxy (one read and one write each way), so its
// row shows what Node itself costs on this machine for moving a request and its response:
// CPU per request, and the p99 a Node process adds at a given rate, before any HTTP work.
//
// Usage: node node-relay.mjs PORT HOST:PORT [HOST:PORT...]
// RELAY_BUSY_US=N adds N µs of busy work to each relayed read (so 2N per request): by hand, to see
// how CPU per request alone moves the p99 at a fixed rate (docs/architecture.md).
import { connect, createServer } from "node:net";
import { performance } from "node:perf_hooks";

const [port, ...upstreams] = process.argv.slice(2);
const targets = upstreams.map((hp) => ({ host: hp.split(":")[0], port: Number(hp.split(":")[1]) }));
const busyMs = Number(process.env.RELAY_BUSY_US ?? 0) / 1000;
let next = 0;

function busy() {
  const until = performance.now() + busyMs;
  while (performance.now() < until) {
    // spin: stands in for work per request
  }
}

createServer((client) => {
  const target = targets[next++ % targets.length];
  const upstream = connect({ ...target, noDelay: true });
  client.setNoDelay(true);
  client.on("data", (data) => {
    if (busyMs > 0) busy();
    upstream.write(data);
  });
  upstream.on("data", (data) => {
    if (busyMs > 0) busy();
    client.write(data);
  });
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
}).listen(Number(port), "127.0.0.1", () => console.log(`node relay listening on 127.0.0.1:${port}`));
