// The "best plain Node proxy" baseline: node:http, one keep-alive Agent, round robin, streaming
// with pipe. No retries, no stats, no request ids: the floor of what proxying in Node costs.
// Usage: node node-proxy.mjs PORT HOST:PORT [HOST:PORT...]
import { Agent, createServer, request } from "node:http";

const [port, ...upstreams] = process.argv.slice(2);
const targets = upstreams.map((hp) => ({ host: hp.split(":")[0], port: Number(hp.split(":")[1]) }));
const agent = new Agent({ keepAlive: true });
// Hop-by-hop headers belong to one connection and are not forwarded (RFC 9110 7.6.1).
const HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];
const strip = (headers) => {
  for (const name of HOP) delete headers[name];
  return headers;
};
let next = 0;

createServer((req, res) => {
  const target = targets[next++ % targets.length];
  const upReq = request(
    { ...target, method: req.method, path: req.url, headers: strip({ ...req.headers }), agent },
    (upRes) => {
      res.writeHead(upRes.statusCode, strip(upRes.headers));
      upRes.pipe(res);
    },
  );
  upReq.on("error", () => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502).end();
  });
  res.on("close", () => {
    if (!res.writableFinished) upReq.destroy(); // client went away: stop the upstream work too
  });
  req.pipe(upReq);
}).listen(Number(port), "127.0.0.1", () => console.log(`node proxy listening on 127.0.0.1:${port}`));
