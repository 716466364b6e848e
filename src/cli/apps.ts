import type { AppRecord } from "../store/store.js";
import { parse } from "./args.js";
import { COMMON_OPTIONS, client, printJson, say } from "./common.js";
import { renderTable } from "./table.js";

export const summary = "list the apps with their live release and domains";

export const usage = `baton apps [--home DIR] [--json]`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS });
  const { apps } = await client(values.home).get<{ apps: Omit<AppRecord, "configVars">[] }>("/v1/apps");
  if (values.json) printJson(apps);
  else if (apps.length === 0) say("no apps yet: baton deploy DIR --app NAME creates one");
  else
    say(
      renderTable(
        [
          ["app", "release", "domains"],
          ...apps.map((a) => [
            a.name,
            a.currentVersion === null ? "none" : `v${a.currentVersion}`,
            `${a.domains.join(", ")}${a.isDefault ? " (default)" : ""}`,
          ]),
        ],
        new Set([0, 1, 2]),
      ),
    );
  return 0;
}
