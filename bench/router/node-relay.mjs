// A floor, not a proxy: each client connection is relayed byte for byte to its own connection to
// an upstream (round robin per client connection), with no HTTP parsing at all. It makes the same
// system calls per request as a keep-alive HTTP proxy (one read and one write each way), so its
// row shows what Node itself costs on this machine for moving a request and its response:
// CPU per request, and the p99 a Node process adds at a given rate, before any HTTP work.
// Usage: node node-relay.mjs PORT HOST:PORT [HOST:PORT...]
import { connect, createServer } from "node:net";

const [port, ...upstreams] = process.argv.slice(2);
const targets = upstreams.map((hp) => ({ host: hp.split(":")[0], port: Number(hp.split(":")[1]) }));
let next = 0;

createServer((client) => {
  const target = targets[next++ % targets.length];
  const upstream = connect({ ...target, noDelay: true });
  client.setNoDelay(true);
  client.on("data", (data) => upstream.write(data));
  upstream.on("data", (data) => client.write(data));
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
}).listen(Number(port), "127.0.0.1", () => console.log(`node relay listening on 127.0.0.1:${port}`));
