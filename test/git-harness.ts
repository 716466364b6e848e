// What the git push tests share: a work repository made from the fixture app, git run on its
// own (no system or user config, never a prompt), versions written and committed, and what the
// router serves. Output of each git command goes to the transcript, shown when a test fails.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { children, indent, killGroup, note } from "./e2e-harness.js";
import { http } from "./helpers.js";

export const FIXTURE = fileURLToPath(new URL("../../test/fixtures/apps/web", import.meta.url));
export const PUSH_TIMEOUT_MS = 90_000;

export interface GitRun {
  code: number | null;
  output: string;
}

export interface ReleaseJson {
  version: number;
  status: string;
  source: string;
  current: boolean;
  commit: { sha: string; message: string | null; branch: string | null; pushedBy: string | null } | null;
}

/** Git with no system or user configuration and no prompt; `extra` on top (TMPDIR, ...). */
export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "",
    SSH_ASKPASS: "",
    ...extra,
  };
}

/** A work repository of the fixture app at `dir` (copied and `git init`ed by the caller). */
export class WorkRepo {
  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    /** behaviour.json's pidDir: every process the app starts leaves its pid there. */
    private readonly pidDir: string,
    /** Secrets to hide in the transcript (a token in a remote URL). */
    private readonly hide: () => string[] = () => [],
  ) {}

  /**
   * `git ARGS` to completion in its own process group (killing it takes git-remote-http too);
   * `onOutput` sees the output so far as it arrives.
   */
  git(args: string[], cwd = this.dir, onOutput?: (output: string, pid: number) => void): Promise<GitRun> {
    const child = spawn("git", args, { cwd, env: this.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.add(child);
    let output = "";
    const seen = (d: Buffer) => {
      output += d;
      onOutput?.(output, child.pid ?? 0);
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    const timer = setTimeout(() => killGroup(child.pid ?? 0), PUSH_TIMEOUT_MS);
    return new Promise((resolve) =>
      child.once("close", (code) => {
        clearTimeout(timer);
        children.delete(child);
        let shown = `git ${args.join(" ")}`;
        for (const secret of this.hide()) if (secret !== "") shown = shown.replaceAll(secret, "***");
        note(`${shown} → ${code}\n${indent(output)}`);
        resolve({ code, output });
      }),
    );
  }

  async commit(message: string): Promise<string> {
    assert.equal((await this.git(["add", "-A"])).code, 0);
    assert.equal((await this.git(["commit", "-q", "-m", message])).code, 0);
    return (await this.git(["rev-parse", "HEAD"])).output.trim();
  }

  /** The work tree as the version `label` (GET / answers it), optionally never ready or slow to boot. */
  writeVersion(label: string, broken = false, bootDelayMs = 0): void {
    writeFileSync(join(this.dir, "VERSION"), `${label}\n`);
    writeFileSync(
      join(this.dir, "behaviour.json"),
      JSON.stringify({
        pidDir: this.pidDir,
        ...(broken ? { neverReady: true } : {}),
        ...(bootDelayMs > 0 ? { bootDelayMs } : {}),
      }),
    );
    const appJson = JSON.parse(readFileSync(join(FIXTURE, "app.json"), "utf8")) as { baton: Record<string, unknown> };
    if (broken) appJson.baton.bootTimeoutMs = 2000;
    writeFileSync(join(this.dir, "app.json"), JSON.stringify(appJson, null, 2));
  }

  /** The commit a branch of a bare repository points at. */
  async branchIn(repo: string, branch = "main"): Promise<string> {
    return (await this.git(["--git-dir", repo, "rev-parse", branch])).output.trim();
  }
}

/** The versions the router serves for `app` over six requests (more than one while switching). */
export async function servedVersions(port: number, app: string): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const reply = await http(port, "/", { headers: { host: `${app}.localhost` } });
    assert.equal(reply.status, 200, reply.body);
    seen.add((JSON.parse(reply.body) as { version: string }).version);
  }
  return [...seen];
}
