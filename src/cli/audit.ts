import { BatonError } from "../core/errors.js";
import type { EventRecord } from "../store/store.js";
import { intOption, parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, say } from "./common.js";
import { renderTable } from "./table.js";

export const summary = "who changed what, and when: every change asked of the server";

export const usage = `baton audit [--app NAME] [--limit 100] [--home DIR] [--json]

Every request that changes something (deploys, rollbacks, config, maintenance, domains, locks,
webhooks, cancels, git pushes, shutdown), newest last, with who asked: the OS user and host of
the CLI that sent it, and for a git push the pusher. Without --app: every app and the server.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION, limit: { type: "string" } }, true);
  if (positionals.length > 0) throw new BatonError("BATON_USAGE", "baton audit takes no arguments");
  const limit = intOption(values.limit, "limit") ?? 100;
  const query = new URLSearchParams({ limit: String(limit), ...(values.app === undefined ? {} : { app: values.app }) });
  const { audit } = await client(values.home).get<{ audit: EventRecord[] }>(`/v1/audit?${query}`);
  if (values.json) {
    printJson(audit);
    return 0;
  }
  if (audit.length === 0) {
    say("nothing changed yet");
    return 0;
  }
  say(
    renderTable([
      ["time", "app", "who", "what"],
      ...audit.map((e) => [
        new Date(e.time).toISOString().slice(0, 19).replace("T", " "),
        e.app,
        String(e.data.pushedBy === undefined ? e.data.actor : `${e.data.pushedBy} (git push)`),
        String(e.data.action),
      ]),
    ]),
  );
  return 0;
}
