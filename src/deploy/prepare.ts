import { randomBytes } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { loadAppConfig } from "../config/load.js";
import { BUILD_SCRIPT, type ResolvedConfig } from "../config/resolve.js";
import { diskFullError, freeBytes } from "../core/disk-full.js";
import { BatonError } from "../core/errors.js";
import { failpoint } from "../core/failpoint.js";
import type { DeployRecord, ReleaseRecord, Store } from "../store/store.js";
import { runCommand } from "../supervisor/command.js";
import type { AppUser } from "../supervisor/run-as.js";
import { giveReleaseTo } from "./app-user-home.js";
import { dependencyInputs, linkDependencies, releaseBuiltWith } from "./build-cache.js";
import { appPaths } from "./paths.js";
import type { PipelineDeps } from "./pipeline.js";
import { describeSource, type StageSource, stageSource } from "./stage.js";
import type { StepContext, StepOutcome } from "./step-recorder.js";

/** Build commands get this long unless app.json says otherwise. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
/** Builds run niced: the live release keeps the CPU it needs to serve while the next one builds. */
const BUILD_NICENESS = 10;
/** A build that fails with less than this free beside it failed for want of space. */
const LOW_SPACE_BYTES = 64 * 1024;
/** How a full disk reads in a build's output (coreutils, npm, tar, SQLite). */
const DISK_FULL_OUTPUT = /no space left on device|ENOSPC|database or disk is full/i;

/**
 * The `stage` step: make the new Release. A deploy copies the source into a fresh release
 * directory and validates its Procfile and app.json there; a config change or a rollback reuses an
 * existing Release's code with new (or that Release's) config vars, like Heroku does.
 */
export async function prepareRelease(
  deps: PipelineDeps,
  deploy: DeployRecord,
  ctx: StepContext,
  onCreated: (version: number) => void,
): Promise<ReleaseRecord> {
  const { store } = deps;
  const app = store.getApp(deploy.app);
  if (app === undefined) throw new BatonError("BATON_NOT_FOUND", `app "${deploy.app}" does not exist`);
  if (deploy.kind === "deploy") {
    const source = deploy.request.source as StageSource;
    const release = store.createRelease({
      app: app.name,
      status: "pending",
      source: describeSource(source),
      path: "",
      configVars: { ...app.configVars },
      appConfig: null,
    });
    const dir = appPaths(deps.home, app.name).release(release.version);
    store.updateRelease(app.name, release.version, { path: dir });
    failpoint("after-release-created");
    onCreated(release.version);
    const staged = await stageSource(source, dir);
    if (deps.appUser !== undefined) {
      // Copied as root; the build (as the app user) writes node_modules into it.
      await giveReleaseTo(deps.home, app.name, dir, deps.appUser);
      ctx.output(`release directory handed to user ${deps.appUser.name} (uid ${deps.appUser.uid})\n`);
    }
    ctx.output(`copied ${staged.description} to ${dir}\n`);
    const config = await loadAppConfig(dir);
    const seeded = app.currentVersion === null ? seedConfigVars(app.configVars, config, ctx) : undefined;
    if (seeded !== undefined) store.updateApp(app.name, { configVars: seeded });
    return store.updateRelease(app.name, release.version, {
      appConfig: config,
      source: staged.description,
      ...(seeded === undefined ? {} : { configVars: seeded }),
    });
  }
  const base =
    deploy.kind === "rollback"
      ? rollbackTarget(deps, deploy, app.currentVersion)
      : currentRelease(deps, app.name, app.currentVersion);
  const configVars =
    deploy.kind === "rollback" ? { ...base.configVars } : applyConfigChange(app.configVars, deploy.request);
  if (deploy.kind === "config") store.updateApp(app.name, { configVars });
  const release = store.createRelease({
    app: app.name,
    status: "pending",
    source: deploy.kind === "rollback" ? `rollback to v${base.version}` : configSource(deploy.request),
    path: base.path,
    configVars,
    appConfig: base.appConfig,
  });
  onCreated(release.version);
  ctx.output(`${release.source}: code of v${base.version}\n`);
  if (deploy.kind === "rollback" && app.currentVersion !== null) {
    const live = store.getRelease(app.name, app.currentVersion);
    if (live !== undefined) await warnSchemaMovedOn(base, live, ctx);
  }
  return release;
}

/**
 * A rollback brings back old code, not the old schema: when the live release applied migrations
 * the target release does not have, say so (a contract step may have dropped what it reads).
 */
async function warnSchemaMovedOn(target: ReleaseRecord, live: ReleaseRecord, ctx: StepContext): Promise<void> {
  const dir = (live.appConfig as ResolvedConfig | null)?.migrations?.dir;
  if (dir === undefined) return;
  const list = async (root: string) =>
    new Set((await readdir(join(root, dir)).catch(() => [])).filter((n) => n.endsWith(".sql")));
  const old = await list(target.path);
  const newer = [...(await list(live.path))].filter((name) => !old.has(name));
  if (newer.length > 0) {
    ctx.output(
      `warning: the schema has moved on since v${target.version}: ${newer.join(", ")} ran after it and stay applied. ` +
        "If one removed something that release reads (a contract step), its instances will fail readiness or serve errors.\n",
    );
  }
}

/**
 * Heroku's app.json `env` applies when an app is created: on the first deploy, each var with a
 * `value` (or `"generator": "secret"`) becomes a config var unless one is already set. Later
 * changes go through config:set, so app.json never silently overrides what an operator set.
 */
function seedConfigVars(
  current: Record<string, string>,
  config: ResolvedConfig,
  ctx: StepContext,
): Record<string, string> | undefined {
  const seeded = { ...current };
  const added: string[] = [];
  for (const [key, entry] of Object.entries(config.env)) {
    if (key in seeded) continue;
    const value = entry.generator === "secret" ? randomBytes(32).toString("hex") : entry.value;
    if (value === undefined) continue;
    seeded[key] = value;
    added.push(key);
  }
  if (added.length === 0) return undefined;
  ctx.output(`config vars from app.json env: ${added.join(", ")}\n`);
  return seeded;
}

function currentRelease(deps: PipelineDeps, app: string, current: number | null): ReleaseRecord {
  const release = current === null ? undefined : deps.store.getRelease(app, current);
  if (release === undefined) {
    throw new BatonError("BATON_NOT_FOUND", `app "${app}" has no live release to apply config to`, {
      hint: "deploy the app once first: baton deploy DIR --app NAME",
    });
  }
  return release;
}

/** The named version, else the one that served before the current one. */
export function rollbackTarget(deps: PipelineDeps, deploy: DeployRecord, current: number | null): ReleaseRecord {
  const { store } = deps;
  const wanted =
    typeof deploy.request.version === "number" ? deploy.request.version : previousVersion(deps, deploy.app, current);
  if (wanted === undefined) {
    throw new BatonError("BATON_NOT_FOUND", `app "${deploy.app}" has no previous release to roll back to`);
  }
  const release = store.getRelease(deploy.app, wanted);
  if (release === undefined)
    throw new BatonError("BATON_NOT_FOUND", `release v${wanted} of "${deploy.app}" does not exist`);
  if (release.status !== "ready" || release.pruned) {
    throw new BatonError(
      "BATON_USAGE",
      `release v${wanted} cannot be rolled back to (${release.status === "failed" ? "its deploy failed: it never served" : release.status === "pending" ? "it is still being deployed" : "its files were cleaned up"})`,
      {
        hint: "`baton releases` lists the releases that served and are still on disk",
      },
    );
  }
  if (wanted === current) throw new BatonError("BATON_USAGE", `v${wanted} is already the live release`);
  return release;
}

/** The release that was live before the current one became live. */
function previousVersion(deps: PipelineDeps, app: string, current: number | null): number | undefined {
  for (const d of deps.store.listDeploys({ app, statuses: ["succeeded"] })) {
    if (d.version === current && d.fromVersion !== null && d.fromVersion !== current) return d.fromVersion;
  }
  return undefined;
}

function applyConfigChange(current: Record<string, string>, request: Record<string, unknown>): Record<string, string> {
  const next = { ...current, ...((request.set as Record<string, string> | undefined) ?? {}) };
  for (const key of (request.unset as string[] | undefined) ?? []) delete next[key];
  return next;
}

/** Names the keys, never the values: config values must not appear in deploy logs. */
function configSource(request: Record<string, unknown>): string {
  const set = Object.keys((request.set as Record<string, string> | undefined) ?? {});
  const unset = (request.unset as string[] | undefined) ?? [];
  return [
    set.length > 0 ? `config:set ${set.join(" ")}` : "",
    unset.length > 0 ? `config:unset ${unset.join(" ")}` : "",
  ]
    .filter(Boolean)
    .join(", ");
}

/**
 * The `build` step. With the default build, the install is skipped when an earlier Release that
 * is still on disk was built from the same dependency inputs (build-cache.ts): its node_modules is
 * copied instead, and only `npm run build` runs, if there is one. Every build records its inputs'
 * key so that a later one can find it.
 */
export async function buildRelease(
  release: ReleaseRecord,
  config: ResolvedConfig,
  env: Record<string, string>,
  ctx: StepContext,
  user?: AppUser,
  store?: Store,
): Promise<StepOutcome> {
  let command = config.buildCommand ?? "";
  let dependencies: Record<string, unknown> | undefined;
  if (config.defaultBuild !== undefined && store !== undefined) {
    const inputs = await dependencyInputs(release.path, env, user);
    dependencies = { ...inputs };
    const from =
      "key" in inputs && config.buildCache
        ? releaseBuiltWith(store, release.app, inputs.key, release.version)
        : undefined;
    if ("uncachable" in inputs && config.buildCache) ctx.output(`build cache not used: ${inputs.uncachable}\n`);
    if (from !== undefined) {
      const started = Date.now();
      if (await linkDependencies(from.path, release.path, env, BUILD_NICENESS, user)) {
        ctx.output(
          `dependencies unchanged since v${from.version} (package.json, lockfile, .npmrc, node, npm settings): ` +
            `its node_modules copied in ${Date.now() - started} ms instead of \`${config.defaultBuild.install}\`\n`,
        );
        dependencies.reusedFrom = from.version;
        command = config.defaultBuild.runBuildScript ? BUILD_SCRIPT : "";
      } else {
        // Whatever half-copied tree is there must not meet `npm install`, which would keep it.
        await rm(join(release.path, "node_modules"), { recursive: true, force: true });
        ctx.output(`copying the node_modules of v${from.version} failed; installing instead\n`);
      }
    }
  }
  if (command === "") return { details: { command, ms: 0, dependencies } };
  ctx.output(`$ ${command}\n`);
  let tail = "";
  const result = await runCommand({
    command,
    cwd: release.path,
    env,
    timeoutMs: BUILD_TIMEOUT_MS,
    onOutput: (chunk) => {
      tail = (tail + chunk).slice(-4096);
      ctx.output(chunk);
    },
    onSpawn: (command) => ctx.spawned?.(command),
    niceness: BUILD_NICENESS,
    user,
  });
  if (result.code !== 0) {
    // The build's own error is whatever its tool printed; a full disk gets baton's code, so the
    // user sees at once that no fix to the app will help.
    const free = freeBytes(release.path);
    if (!result.timedOut && (DISK_FULL_OUTPUT.test(tail) || (free !== undefined && free < LOW_SPACE_BYTES))) {
      throw diskFullError({
        path: release.path,
        doing: `building the new release (\`${command}\` exited with ${result.code ?? result.signal})`,
        untouched: "the live release kept serving; the half-built release directory is removed",
      });
    }
    throw new BatonError(
      "BATON_BUILD_FAILED",
      result.timedOut
        ? `the build timed out after ${BUILD_TIMEOUT_MS} ms`
        : `the build exited with ${result.code ?? result.signal}`,
      {
        details: { command, exitCode: result.code },
        hint: "the build output above says why; the live release was not touched",
      },
    );
  }
  return { details: { command, ms: result.ms, ...(dependencies === undefined ? {} : { dependencies }) } };
}
