import { execFile } from "node:child_process";
import { cp, mkdir, rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import { promisify } from "node:util";
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
    const child = execFile("/bin/sh", [
      "-c",
      'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"',
      "sh",
      dir,
      commit,
      releaseDir,
    ]);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new BatonError("BATON_USAGE", `git archive of ${commit} failed`)),
    );
  });
  return { description: `git ${source.ref}@${commit.slice(0, 7)}`, commit, commitMessage: message };
}
