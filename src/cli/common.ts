import { ApiClient } from "../api/client.js";
import { BatonError } from "../core/errors.js";
import { resolveHome } from "../core/home.js";

/** Flags every command that talks to the server takes. */
export const COMMON_OPTIONS = {
  home: { type: "string" },
  json: { type: "boolean" },
} as const;

export const APP_OPTION = { app: { type: "string", short: "a" } } as const;

export function client(home: string | undefined): ApiClient {
  return ApiClient.forCli(resolveHome(home));
}

export function requireApp(app: string | undefined): string {
  if (app === undefined || app === "") {
    throw new BatonError("BATON_USAGE", "this command needs --app NAME", { hint: "`baton apps` lists the apps" });
  }
  return app;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
