import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { linkSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { freePort } from "../src/supervisor/ports.js";
import { cleanup, http, MAIN, pool, startRouter, startUpstream, tmpHome } from "./helpers.js";

describe("router: routing table on disk", () => {
  after(cleanup);

  test("a router killed and restarted routes from its snapshot before the control plane speaks", async () => {
    const home = tmpHome();
    const port = await freePort();
    const [first, upstream] = await Promise.all([startRouter({ home, port }), startUpstream("r-1")]);
    await first.client.putApp({ name: "shop", domains: ["shop.test"], isDefault: true });
    await first.client.swap("shop", pool("s1", "v7", [upstream], "/health"));
    const state = join(home, "router-table.json");
    assert.equal(statSync(state).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, "router.sock")).mode & 0o777, 0o600);
    await first.kill("SIGKILL");

    const second = await startRouter({ home, port });
    // No admin call before this request: the route comes from the snapshot.
    const reply = await http(second.port, "/id", { headers: { host: "shop.test" } });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, "r-1");
    const snapshot = JSON.parse(readFileSync(state, "utf8"));
    assert.equal(snapshot.apps[0].active.release, "v7");
  });

  test("a change that leaves the table as it was does not rewrite the snapshot; a real one does", async () => {
    const home = tmpHome();
    const [router, upstream] = await Promise.all([startRouter({ home, port: await freePort() }), startUpstream("r-2")]);
    const spec = { name: "shop", domains: ["shop.test"], isDefault: true };
    await router.client.putApp(spec);
    await router.client.swap("shop", pool("s1", "v1", [upstream], "/health"));
    const state = join(home, "router-table.json");
    // Every write renames a new file into place. A hard link keeps the file written last alive,
    // so its inode cannot be handed out again: the path still has that inode only if nothing
    // was written since.
    const kept = join(home, "snapshot-written-last");
    linkSync(state, kept);
    const identity = () => statSync(state).ino;
    const written = statSync(kept).ino;
    assert.equal(identity(), written);
    // What the switch step sends after its swap: the same route again, and "no canary".
    await router.client.putApp(spec);
    await router.client.setCanary("shop", null, 0);
    assert.equal(identity(), written);
    await router.client.putApp({ ...spec, domains: ["shop.test", "www.shop.test"] });
    assert.notEqual(identity(), written);
    assert.deepEqual(JSON.parse(readFileSync(state, "utf8")).apps[0].domains, ["shop.test", "www.shop.test"]);
  });

  test("a corrupt snapshot stops the router with BATON_STATE_CORRUPT and a hint, instead of routing nothing", () => {
    const home = tmpHome();
    writeFileSync(join(home, "router-table.json"), "{ not json");
    const result = spawnSync(process.execPath, [MAIN, "router", "--port", "0", "--home", home], {
      encoding: "utf8",
      timeout: 10_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /BATON_STATE_CORRUPT/);
    assert.match(result.stderr, /hint: move/);
  });
});
