import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { PushedCommit } from "../api/git-repo.js";
import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import { parse } from "./args.js";
import { APP_OPTION, client, requireApp, say } from "./common.js";
import { followDeploy } from "./deploy-progress.js";
import { PktReader, writeSection } from "./pkt-line.js";

const exec = promisify(execFile);

/** Internal: left out of `baton help`. */
export const internal = true;

export const summary = "(internal) the proc-receive (or pre-receive) hook of an app's git repository";

export const usage = `baton git-receive --proc --app NAME [--home DIR]   # run by <home>/apps/NAME/repo.git/hooks/proc-receive

Speaks git's proc-receive protocol on stdin/stdout for the pushed updates of main and master: a
push to main (or master) deploys that commit (its tree exported and deployed through the server
like \`baton deploy\`, every step printed on stderr, which git shows as "remote: ..."); once the
release is live the hook moves the branch and reports it ok, else reports it rejected and the old
release keeps serving. A commit that is already live deploys nothing. Without --proc it acts as
the pre-receive hook of repositories made by an older baton.`;

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
  const { values } = parse(argv, { home: { type: "string" }, proc: { type: "boolean" }, ...APP_OPTION });
  const app = requireApp(values.app);
  // git gives up on the client before the hook ends (Ctrl-C): the deploy goes on in the server,
  // and this process must still get to remove its export rather than die on EPIPE.
  process.stdout.on("error", () => {});
  process.stderr.on("error", () => {});
  return values.proc === true ? procReceive(app, values.home) : preReceive(app, values.home);
}

/**
 * As a `pre-receive` hook (repositories made before proc-receive): deploy, then exit 0 to let git
 * update the branch. git's compare-and-swap of the branch then fails for a push that waited behind
 * another one, even when its deploy went live: the proc-receive mode below has no such race.
 */
async function preReceive(app: string, home: string | undefined): Promise<number> {
  const updates = parseUpdates(await readStdin());
  const update = deployedUpdate(updates);
  for (const u of updates) if (u !== update) say(notDeployed(u));
  if (update === undefined) return 0;
  return (await deployPush(app, home, update)).accepted ? 0 : 1;
}

/**
 * As the `proc-receive` hook (`receive.procReceiveRefs`): git hands this process the pushed ref
 * updates instead of applying them, after the objects left quarantine. The deployed branch is
 * moved here, to the commit that went live, without comparing it with the value the pusher saw:
 * pushes that waited in the deploy queue behind one another then cannot fail on a moved branch.
 * Other refs are updated as git would (compare-and-swap). stdout is git's protocol channel, so
 * everything said to the person goes to stderr, which git relays as "remote:" lines.
 */
async function procReceive(app: string, home: string | undefined): Promise<number> {
  const protocol = 1;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  const reader = new PktReader(process.stdin);
  const hello = await reader.readSection();
  if (!hello[0]?.startsWith("version=1")) {
    throw new BatonError(
      "BATON_GIT_FAILED",
      `proc-receive: git speaks ${JSON.stringify(hello[0] ?? "")}, not version=1`,
    );
  }
  writeSection(protocol, ["version=1"]);
  const updates = parseUpdates((await reader.readSection()).join("\n"));
  const update = deployedUpdate(updates);
  const results = new Map<RefUpdate, string>();
  for (const u of updates) {
    if (u === update) continue;
    say(notDeployed(u));
    results.set(u, await plainUpdate(u));
  }
  if (update !== undefined) {
    // Whatever happens, git gets an answer for every ref: a hook that dies silently leaves the
    // pusher's git waiting.
    const outcome = await deployPush(app, home, update).catch((error: unknown) => {
      const failure = error instanceof BatonError ? error : undefined;
      const message =
        failure === undefined ? String((error as Error)?.message ?? error) : `${failure.code}: ${failure.message}`;
      process.stderr.write(`error ${message}\n${failure?.hint ? `hint: ${failure.hint}\n` : ""}`);
      return { accepted: false, reason: message };
    });
    if (outcome.accepted) {
      const moved = await git(["update-ref", "-m", "baton: live", update.ref, update.new]);
      results.set(update, moved === "" ? `ok ${update.ref}` : `ng ${update.ref} ${oneLine(moved)}`);
    } else results.set(update, `ng ${update.ref} ${oneLine(outcome.reason)}`);
  }
  writeSection(
    protocol,
    updates.map((u) => results.get(u) ?? `ng ${u.ref} not handled`),
  );
  return 0;
}

function deployedUpdate(updates: RefUpdate[]): RefUpdate | undefined {
  return DEPLOYED.map((ref) => updates.find((u) => u.ref === ref && !/^0+$/.test(u.new))).find(Boolean);
}

function notDeployed(u: RefUpdate): string {
  const name = u.ref.replace(/^refs\/(heads|tags)\//, "");
  return /^0+$/.test(u.new)
    ? `baton: deleting ${name} deploys nothing`
    : `baton: ${name} is not deployed (only main or master is)`;
}

/** A ref baton does not deploy, updated the way git would: only from the value the pusher saw. */
async function plainUpdate(u: RefUpdate): Promise<string> {
  const failed = /^0+$/.test(u.new)
    ? await git(["update-ref", "-d", u.ref, u.old])
    : await git(["update-ref", u.ref, u.new, u.old]);
  return failed === "" ? `ok ${u.ref}` : `ng ${u.ref} ${oneLine(failed)}`;
}

/** Runs git in the hook's repository; "" on success, else its error output. */
async function git(args: string[]): Promise<string> {
  try {
    await exec("git", args, { maxBuffer: 1 << 20 });
    return "";
  } catch (error) {
    return String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim() || "git failed";
  }
}

const oneLine = (text: string): string => text.replace(/\s+/g, " ").slice(0, 200);

/** Deploy the pushed commit through the server; accepted once it is live. */
async function deployPush(
  app: string,
  home: string | undefined,
  update: RefUpdate,
): Promise<{ accepted: boolean; reason: string }> {
  const api = client(home);
  const branch = update.ref.slice("refs/heads/".length);
  const short = update.new.slice(0, 7);
  const { releases } = await api.get<{ releases: ReleaseView[] }>(`/v1/apps/${encodeURIComponent(app)}/releases`);
  const live = releases.find((r) => r.current);
  if (live?.commit?.sha === update.new) {
    say(`baton: ${app} v${live.version} already runs ${short}; nothing to deploy`);
    return { accepted: true, reason: "" };
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
    const kept = live === undefined ? `${app} serves nothing yet` : `${app} keeps serving v${live.version}`;
    say(code === 0 ? `baton: ${short} is live; push accepted` : `baton: push rejected; ${kept}`);
    return { accepted: code === 0, reason: `not deployed (${kept}; the deploy output above says why)` };
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
