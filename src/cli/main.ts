#!/usr/bin/env -S node --max-semi-space-size=4 --no-memory-reducer
// The shebang passes ROUTER_NODE_FLAGS (src/router/options.ts) for `baton router`.
import { readFileSync } from "node:fs";
import { BatonError } from "../core/errors.js";

interface Command {
  /** Run by baton itself (a git hook), left out of `baton help`. */
  internal?: boolean;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

// Commands load lazily so `baton help` stays fast and one command's imports cannot slow another.
const COMMANDS: Record<string, () => Promise<Command>> = {
  demo: () => import("./demo.js"),
  server: () => import("./server.js"),
  deploy: () => import("./deploy.js"),
  "deploy:promote": () => import("./deploy-promote.js"),
  "deploy:abort": () => import("./deploy-abort.js"),
  "deploy:cancel": () => import("./deploy-cancel.js"),
  rollback: () => import("./rollback.js"),
  releases: () => import("./releases.js"),
  deploys: () => import("./deploys.js"),
  ps: () => import("./ps.js"),
  logs: () => import("./logs.js"),
  run: () => import("./run.js"),
  status: () => import("./status.js"),
  audit: () => import("./audit.js"),
  top: () => import("./top.js"),
  apps: () => import("./apps.js"),
  "apps:create": () => import("./apps-create.js"),
  "apps:lock": () => import("./apps-lock.js"),
  "apps:unlock": () => import("./apps-unlock.js"),
  "apps:destroy": () => import("./apps-destroy.js"),
  domains: () => import("./domains.js"),
  "domains:add": () => import("./domains-add.js"),
  "domains:remove": () => import("./domains-remove.js"),
  maintenance: () => import("./maintenance.js"),
  "maintenance:on": () => import("./maintenance-on.js"),
  "maintenance:off": () => import("./maintenance-off.js"),
  config: () => import("./config.js"),
  "config:get": () => import("./config-get.js"),
  "config:set": () => import("./config-set.js"),
  "config:unset": () => import("./config-unset.js"),
  webhooks: () => import("./webhooks.js"),
  "webhooks:add": () => import("./webhooks-add.js"),
  "webhooks:remove": () => import("./webhooks-remove.js"),
  shutdown: () => import("./shutdown.js"),
  router: () => import("./router.js"),
  "router:restart": () => import("./router-restart.js"),
  "tls:reload": () => import("./tls-reload.js"),
  "token:rotate": () => import("./token-rotate.js"),
  lint: () => import("./lint.js"),
  "git-receive": () => import("./git-receive.js"),
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

async function help(): Promise<string> {
  const lines = [
    "baton: zero-downtime deploys for Procfile apps",
    "",
    "Usage: baton <command> [options]",
    "",
    "Commands:",
  ];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const command = await load();
    if (command.internal !== true) lines.push(`  ${name.padEnd(15)} ${command.summary}`);
  }
  lines.push(
    `  ${"help".padEnd(15)} show this help, or \`baton help <command>\``,
    `  ${"version".padEnd(15)} print the version`,
  );
  return `${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    process.stdout.write(topic === undefined ? await help() : `${(await topic()).usage}\n`);
    return 0;
  }
  if (name === "version" || name === "--version" || name === "-v") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    throw new BatonError("BATON_USAGE", `unknown command "${name}"`, { hint: "run `baton help` to list the commands" });
  }
  const command = await load();
  // After `--` the words are a command's own (`baton run -- grep -h`), not baton's.
  const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (own.includes("--help") || own.includes("-h")) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof BatonError) {
      process.stderr.write(`error ${error.code}: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`);
      process.exitCode = error.code === "BATON_USAGE" ? 2 : 1;
    } else {
      process.stderr.write(`unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
