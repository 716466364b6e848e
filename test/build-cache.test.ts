// What decides whether a Release may reuse an earlier one's node_modules (src/deploy/build-cache.ts):
// the same inputs give the same key; anything whose install result can depend on the app's own
// files is uncachable.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dependencyInputs } from "../src/deploy/build-cache.js";

const ENV = { PATH: process.env.PATH ?? "", NODE_ENV: "production" };
let n = 0;
function app(pkg: Record<string, unknown>, lock?: Record<string, unknown>): string {
  const dir = join(mkdtempSync(join(tmpdir(), "baton-cache-")), `app${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "a", version: "1.0.0", ...pkg }));
  if (lock !== undefined) writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock));
  return dir;
}
const lock = (packages: Record<string, unknown>) => ({ lockfileVersion: 3, packages: { "": {}, ...packages } });

test("the same package.json, lockfile, node and npm settings give the same key; a change gives another", async () => {
  const pkg = { dependencies: { ms: "^2.1.3" } };
  const packages = lock({ "node_modules/ms": { version: "2.1.3" } });
  const a = await dependencyInputs(app(pkg, packages), ENV);
  const b = await dependencyInputs(app(pkg, packages), ENV);
  assert.ok("key" in a, JSON.stringify(a));
  assert.deepEqual(a, b);
  assert.notDeepEqual(await dependencyInputs(app(pkg, packages), { ...ENV, NODE_ENV: "development" }), a);
  assert.notDeepEqual(await dependencyInputs(app({ dependencies: { ms: "^2.1.2" } }, packages), ENV), a);
  // npm overrides that name a root dependency's version ($ms) are decided by package.json alone.
  assert.ok("key" in (await dependencyInputs(app({ ...pkg, overrides: { ms: "$ms" } }, packages), ENV)));
});

test("uncachable: install scripts, workspaces, dependencies or overrides on paths and tarballs", async () => {
  const uncachable = async (dir: string, why: RegExp) => {
    const inputs = await dependencyInputs(dir, ENV);
    assert.ok("uncachable" in inputs && why.test(inputs.uncachable), JSON.stringify(inputs));
  };
  await uncachable(app({ scripts: { postinstall: "node x.js" } }), /"postinstall" script/);
  await uncachable(app({ workspaces: ["packages/*"] }), /workspaces/);
  await uncachable(app({ dependencies: { lib: "file:../lib" } }), /"lib" is a path/);
  await uncachable(app({ dependencies: { lib: "./vendor/lib-1.0.0.tgz" } }), /"lib" is a path/);
  await uncachable(app({ overrides: { ms: { ".": "link:./ms" } } }), /overrides a dependency with a path/);
  await uncachable(
    app({ dependencies: { prisma: "^5" } }, lock({ "node_modules/@prisma/client": { hasInstallScript: true } })),
    /"@prisma\/client" runs an install script/,
  );
});
