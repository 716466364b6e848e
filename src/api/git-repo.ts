import { execFile } from "node:child_process";
import { chmod, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BatonError } from "../core/errors.js";
import { appPaths } from "../deploy/paths.js";
import type { DeployRecord, ReleaseRecord } from "../store/store.js";

const run = promisify(execFile);

/** The bare repository an app is pushed to: `git push <this> main` deploys. */
export const repoPath = (home: string, app: string): string => join(appPaths(home, app).root, "repo.git");

/** The CLI the hook runs: this installation's, so the hook and the server never disagree. */
const BATON_MAIN = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/**
 * Create the app's bare repository (or refresh an existing one's hook) with a `proc-receive` hook
 * that runs `baton git-receive --proc` for pushes to main and master (`receive.procReceiveRefs`,
 * git 2.29+): git hands the hook those ref updates after the pushed objects are stored, the hook
 * deploys and moves the branch itself once the release is live. The hook runs in the pushing git's
 * process tree; the server never reads the repository. Node and baton are named by absolute path:
 * a push over SSH gets a bare PATH. A `pre-receive` hook of an older baton is removed.
 */
export async function createAppRepo(home: string, app: string): Promise<string> {
  const repo = repoPath(home, app);
  const exists = (await stat(join(repo, "HEAD")).catch(() => undefined)) !== undefined;
  const gitIn = (args: string[]) => run("git", ["--git-dir", repo, ...args], { env: gitFreeEnv() });
  try {
    if (!exists) {
      await mkdir(repo, { recursive: true, mode: 0o700 });
      await run("git", ["init", "--bare", "--quiet", "--initial-branch=main", repo], { env: gitFreeEnv() });
    }
    await gitIn(["config", "--replace-all", "receive.procReceiveRefs", "refs/heads/main"]);
    await gitIn(["config", "--add", "receive.procReceiveRefs", "refs/heads/master"]);
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim();
    throw new BatonError("BATON_GIT_FAILED", `could not set up the git repository ${repo}: ${stderr}`, {
      cause: error,
      hint: `is git (2.29 or newer) installed for the server's user? Then retry: baton apps:create ${app} --repo-only`,
    });
  }
  await mkdir(join(repo, "hooks"), { recursive: true });
  await rm(join(repo, "hooks", "pre-receive"), { force: true });
  const hook = join(repo, "hooks", "proc-receive");
  await writeFile(
    hook,
    [
      "#!/bin/sh",
      "# Written by baton (apps:create): a push to main or master deploys that commit; the push is",
      "# accepted only when the new release went live. `baton apps:create NAME --repo-only` rewrites this.",
      `exec ${shellQuote(process.execPath)} ${shellQuote(BATON_MAIN)} git-receive --proc --home ${shellQuote(home)} --app ${shellQuote(app)}`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  await chmod(hook, 0o755);
  return repo;
}

/** What a deploy request's source says about a pushed commit, checked (`git-receive` sends it). */
export function pushedSource(source: Record<string, unknown>, problems: string[]): Record<string, string> {
  if (source.commit === undefined) return {};
  const out: Record<string, string> = {};
  if (typeof source.commit !== "string" || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(source.commit))
    problems.push(`source.commit must be a full commit SHA, got ${JSON.stringify(source.commit)}`);
  else out.commit = source.commit;
  if (source.ref !== undefined) problems.push("source.commit names a directory's commit; it cannot go with source.ref");
  for (const key of ["commitMessage", "branch", "pushedBy"] as const) {
    const value = source[key];
    if (value === undefined) continue;
    if (typeof value !== "string") problems.push(`source.${key} must be a string`);
    else out[key] = value.split("\n")[0]?.slice(0, 200) ?? "";
  }
  return out;
}

export interface PushedCommit {
  sha: string;
  message: string | null;
  branch: string | null;
  pushedBy: string | null;
}

/**
 * The pushed commit a release's code came from: its own, or for a config change or a rollback
 * (which reuse another release's directory) that release's. Null for code deployed from a
 * directory or with --ref.
 */
export function pushedCommit(
  release: Pick<ReleaseRecord, "path">,
  releases: readonly Pick<ReleaseRecord, "version" | "path">[],
  deploys: readonly DeployRecord[],
): PushedCommit | null {
  for (const origin of releases) {
    if (origin.path !== release.path || origin.path === "") continue;
    const made = deploys.find((d) => d.kind === "deploy" && d.version === origin.version);
    const source = made?.request.source as Record<string, unknown> | undefined;
    if (typeof source?.commit !== "string") continue;
    const text = (key: string) => (typeof source[key] === "string" ? (source[key] as string) : null);
    return { sha: source.commit, message: text("commitMessage"), branch: text("branch"), pushedBy: text("pushedBy") };
  }
  return null;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The server's environment without git's own variables: `git init` (or receive-pack) must not follow a GIT_DIR. */
export function gitFreeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("GIT_")));
}
