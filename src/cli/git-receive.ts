import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { PushedCommit } from "../api/git-repo.js";
import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, client, requireApp, say } from "./common.js";
import { followDeploy } from "./deploy-progress.js";
import { cliUser } from "./who.js";

const exec = promisify(execFile);

/** Internal: left out of `baton help`. */
export const internal = true;

export const summary = "(internal) the pre-receive hook of an app's git repository";

export const usage = `baton git-receive --app NAME [--home DIR]     # run by <home>/apps/NAME/repo.git/hooks/pre-receive

Reads the pushed refs on stdin ("<old> <new> <ref>" lines, as git gives a pre-receive hook). A push
to main (or master) deploys that commit: its tree is exported and deployed through the server like
\`baton deploy\`, every step printed (git shows the lines as "remote: ..."). Exits 0, accepting the
push, once the new release is live; 1 otherwise, so the push is rejected and the old release keeps
serving. A commit that is already live deploys nothing. Other branches, tags and deletions pass.`;

/** The branches a push deploys, in order of preference when one push updates both. */
const DEPLOYED = ["refs/heads/main", "refs/heads/master"];

interface RefUpdate {
  old: string;
  new: string;
  ref: string;
}

interface ReleaseView {
  version: number;
  current: boolean;
  commit: PushedCommit | null;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { home: { type: "string" }, ...APP_OPTION });
  const app = requireApp(values.app);
  // git gives up on the client before the hook ends (Ctrl-C): the deploy goes on in the server,
  // and this process must still get to remove its export rather than die on EPIPE.
  process.stdout.on("error", () => {});
  process.stderr.on("error", () => {});
  const updates = parseUpdates(await readStdin());
  const update = DEPLOYED.map((ref) => updates.find((u) => u.ref === ref && !/^0+$/.test(u.new))).find(Boolean);
  for (const u of updates) {
    if (u === update) continue;
    const name = u.ref.replace(/^refs\/(heads|tags)\//, "");
    say(
      /^0+$/.test(u.new)
        ? `baton: deleting ${name} deploys nothing`
        : `baton: ${name} is not deployed (only main or master is)`,
    );
  }
  if (update === undefined) return 0;

  const api = client(values.home);
  const branch = update.ref.slice("refs/heads/".length);
  const short = update.new.slice(0, 7);
  const { releases } = await api.get<{ releases: ReleaseView[] }>(`/v1/apps/${encodeURIComponent(app)}/releases`);
  const live = releases.find((r) => r.current);
  if (live?.commit?.sha === update.new) {
    say(`baton: ${app} v${live.version} already runs ${short}; nothing to deploy`);
    return 0;
  }
  const commitMessage = await firstLineOf(update.new);
  // The account the hook runs as: the SSH user, for a push over SSH. Over HTTP (`baton server
  // --git-port`) the server names the Basic user name the pusher gave, as "NAME (http)".
  const pushedBy = process.env.BATON_PUSHED_BY || cliUser();
  const dir = await mkdtemp(join(tmpdir(), `baton-push-${app}-`));
  try {
    await exportTree(update.new, dir);
    say(`-----> deploying ${branch}@${short} (${commitMessage}) to ${app}, pushed by ${pushedBy}`);
    const code = await followDeploy(
      api,
      `/v1/apps/${encodeURIComponent(app)}/deploys`,
      { source: { dir, commit: update.new, commitMessage, branch, pushedBy } },
      false,
      { liveIsSuccess: true },
    );
    say(
      code === 0
        ? `baton: ${short} is live; push accepted`
        : `baton: push rejected; ${live === undefined ? `${app} serves nothing yet` : `${app} keeps serving v${live.version}`}`,
    );
    return code;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseUpdates(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of text.split("\n")) {
    const [old, next, ref] = line.trim().split(" ");
    if (old !== undefined && next !== undefined && ref !== undefined) updates.push({ old, new: next, ref });
  }
  return updates;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

// git runs from this process, which inherited the hook's environment: a pushed commit is only
// visible through git's quarantine variables until the hook accepts it.

async function firstLineOf(commit: string): Promise<string> {
  const { stdout } = await exec("git", ["log", "-1", "--format=%B", commit], { maxBuffer: 1 << 20 });
  return stdout.split("\n")[0]?.trim() ?? "";
}

/** `git archive COMMIT | tar -x -C DIR`: exactly the committed tree, nothing else. */
async function exportTree(commit: string, dir: string): Promise<void> {
  const archive = spawn("git", ["archive", "--format=tar", commit], { stdio: ["ignore", "pipe", "pipe"] });
  const tar = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "ignore", "pipe"] });
  archive.stdout.pipe(tar.stdin);
  let stderr = "";
  for (const child of [archive, tar]) child.stderr?.on("data", (d: Buffer) => (stderr += d));
  const exited = (child: typeof archive | typeof tar) =>
    new Promise<number | null>((resolve) => {
      child.once("error", () => resolve(null));
      child.once("close", (code) => resolve(code));
    });
  const codes = await Promise.all([exited(archive), exited(tar)]);
  if (codes.some((code) => code !== 0)) {
    throw new BatonError("BATON_GIT_FAILED", `git archive of ${commit} failed: ${stderr.trim() || "no output"}`, {
      hint: "the push is rejected and nothing was deployed; push again",
    });
  }
}
