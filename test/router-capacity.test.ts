// The router holds many keep-alive connections and WebSockets at once (bench/capacity measures
// 10,000 and 1,000; this is the scaled-down behaviour, kept in npm test).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HeldConnections, HeldWebSockets } from "./capacity-load.js";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream, type Upstream } from "./helpers.js";

const CONNECTIONS = 2_000;
const WEBSOCKETS = 200;
const HOST = "held.test";
/** Bounds only (a round stops sending after this), never asserted as timings. */
const ROUND_BUDGET_MS = 60_000;

describe("router: many connections held at once", () => {
  let router: RouterProc;
  let a: Upstream;
  let b: Upstream;

  before(async () => {
    [router, a, b] = await Promise.all([startRouter(), startUpstream("a"), startUpstream("b")]);
    await router.client.putApp({ name: "held", domains: [HOST] });
    await router.client.swap("held", pool("p1", "v1", [a, b]));
  });
  after(cleanup);

  test(`${CONNECTIONS} keep-alive connections and ${WEBSOCKETS} WebSockets: every request answered, every echo back, no connection lost`, async (t) => {
    const target = { port: router.port, hostHeader: HOST, sourceAddresses: ["127.0.0.1", "127.0.0.2"] };
    const held = new HeldConnections(target, CONNECTIONS);
    const sockets = new HeldWebSockets(target);
    t.after(async () => {
      held.close();
      await sockets.close(2_000);
    });

    const rounds = [];
    for (let r = 0; r < 2; r++) rounds.push(await held.round("/id", 256, performance.now() + ROUND_BUDGET_MS));
    t.diagnostic(
      `rounds over ${CONNECTIONS} connections: ${rounds.map((x) => `${x.ok} ok / ${x.failed} failed ${JSON.stringify(x.failures)}`).join("; ")}; sockets opened ${held.opened}, open ${held.open}`,
    );
    for (const round of rounds) {
      assert.equal(round.failed, 0, `failed requests: ${JSON.stringify(round.failures)}`);
      assert.equal(round.ok, CONNECTIONS);
    }
    // Held, not reopened: the second round reused every connection of the first.
    assert.equal(held.opened, CONNECTIONS, `${held.reconnects} reconnects`);
    assert.equal(held.open, CONNECTIONS);

    await sockets.openAll(WEBSOCKETS, 100);
    t.diagnostic(
      `WebSockets: ${sockets.opened} opened, ${sockets.failedToOpen} failed ${JSON.stringify(sockets.openFailures)}`,
    );
    assert.equal(sockets.failedToOpen, 0, JSON.stringify(sockets.openFailures));
    assert.equal(sockets.opened, WEBSOCKETS);
    // Each WebSocket sends three messages (one a second) and must get each echo back.
    const echoes = await sockets.exchange(2_500, 1_000);
    t.diagnostic(`echoes: ${echoes.ok} ok / ${echoes.failed} failed ${JSON.stringify(echoes.failures)}`);
    assert.equal(echoes.failed, 0, JSON.stringify(echoes.failures));
    assert.ok(echoes.ok >= WEBSOCKETS * 2, `only ${echoes.ok} echoes from ${WEBSOCKETS} WebSockets`);

    // With all of it open: one more round on the same connections, and a newcomer is answered.
    const last = await held.round("/id", 256, performance.now() + ROUND_BUDGET_MS);
    t.diagnostic(
      `final round: ${last.ok} ok / ${last.failed} failed; failed requests in all: ${rounds.reduce((n, x) => n + x.failed, last.failed)}`,
    );
    assert.equal(last.failed, 0, JSON.stringify(last.failures));
    assert.equal(held.opened, CONNECTIONS, "a held connection was closed and reopened");
    assert.equal(held.closedUnderUs, 0);
    assert.equal(sockets.closedUnderUs, 0);
    assert.equal(sockets.open, WEBSOCKETS);
    const fresh = await http(router.port, "/id", { headers: { host: HOST } });
    assert.equal(fresh.status, 200);
    assert.match(fresh.body, /^[ab]$/);
  });
});
