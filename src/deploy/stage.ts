import { execFile } from "node:child_process";
import { cp, lstat, mkdir, readdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { diskFullError, isDiskFull } from "../core/disk-full.js";
import { BatonError } from "../core/errors.js";

const run = promisify(execFile);

/** Never part of a Release: VCS data and dependencies the build installs itself. */
const SKIPPED = new Set([".git", "node_modules", ".baton"]);

export interface StageSource {
  /** The app's directory on this host. */
  dir: string;
  /** A git ref in `dir` (branch, tag or commit); the working tree is copied when absent. */
  ref?: string;
  /**
   * A `git push`: `dir` holds this commit's tree, exported by the pushing side's hook (only it can
   * see the pushed objects); the Release records the commit, its message, branch and pusher.
   */
  commit?: string;
  commitMessage?: string;
  branch?: string;
  pushedBy?: string;
}

/** How `baton releases` names the source before (and after) it is staged. */
export function describeSource(source: StageSource): string {
  if (source.commit === undefined) return `dir ${source.dir}`;
  const message = source.commitMessage ? `: ${source.commitMessage}` : "";
  return `git ${source.branch ?? "push"}@${source.commit.slice(0, 7)}${message}`;
}

export interface StagedSource {
  /** What `baton releases` shows: "dir /srv/shop" or "git main@1a2b3c4". */
  description: string;
  commit?: string;
  commitMessage?: string;
}

/**
 * Copy the source into the new Release's directory. The old Release keeps serving from its own
 * directory, which this never touches.
 */
export async function stageSource(source: StageSource, releaseDir: string): Promise<StagedSource> {
  const dir = source.dir;
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new BatonError("BATON_USAGE", `source directory ${dir} does not exist`, {
      hint: "pass the directory that holds the app's Procfile",
    });
  }
  await rm(releaseDir, { recursive: true, force: true });
  try {
    return await copySource(source, releaseDir);
  } catch (error) {
    // A half-copied Release is never used: its directory goes at once, giving its space back (on
    // a full disk, that space is what the store needs to record the failure).
    await rm(releaseDir, { recursive: true, force: true }).catch(() => undefined);
    if (!isDiskFull(error)) throw error;
    throw diskFullError({
      path: releaseDir,
      doing: `copying ${describeSource(source)} into the new release`,
      neededBytes: await treeBytes(dir).catch(() => undefined),
      untouched: "the live release kept serving; the half-copied release directory was removed",
      cause: error,
    });
  }
}

async function copySource(source: StageSource, releaseDir: string): Promise<StagedSource> {
  const dir = source.dir;
  await mkdir(releaseDir, { recursive: true, mode: 0o755 });
  if (source.ref === undefined) {
    await cp(dir, releaseDir, {
      recursive: true,
      filter: (src) => src === dir || !SKIPPED.has(basename(src)),
      verbatimSymlinks: true,
    });
    return {
      description: describeSource(source),
      ...(source.commit === undefined ? {} : { commit: source.commit, commitMessage: source.commitMessage ?? "" }),
    };
  }
  const git = (args: string[]) => run("git", ["-C", dir, ...args], { maxBuffer: 1 << 20 });
  let commit: string;
  try {
    commit = (await git(["rev-parse", "--verify", `${source.ref}^{commit}`])).stdout.trim();
  } catch (error) {
    throw new BatonError("BATON_USAGE", `git ref "${source.ref}" not found in ${dir}`, { cause: error });
  }
  const message = (await git(["log", "-1", "--format=%s", commit])).stdout.trim();
  // `git archive` gives exactly the committed tree: no untracked files, no local edits.
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      "/bin/sh",
      ["-c", 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', "sh", dir, commit, releaseDir],
      (_error, _stdout, stderr) => {
        if (child.exitCode === 0) resolve();
        else if (/no space left on device/i.test(stderr))
          reject(Object.assign(new Error(stderr.trim()), { code: "ENOSPC" }));
        else reject(new BatonError("BATON_USAGE", `git archive of ${commit} failed`));
      },
    );
  });
  return { description: `git ${source.ref}@${commit.slice(0, 7)}`, commit, commitMessage: message };
}

/** What a copy of the source needs, for the message of a full disk (SKIPPED left out, as in the copy). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else total += (await lstat(path)).size;
  }
  return total;
}
