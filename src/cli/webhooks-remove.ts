import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "stop sending an app's deploy events to a webhook";

export const usage = `baton webhooks:remove --app NAME ID [--home DIR] [--json]

ID as \`baton webhooks --app NAME\` lists it. Deliveries already being retried are still tried.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  const [id, ...extra] = positionals;
  if (id === undefined || !/^\d+$/.test(id) || extra.length > 0)
    throw new BatonError("BATON_USAGE", "give the webhook's ID (a number)");
  const answer = await client(values.home).send<{ removed: number }>(
    "DELETE",
    `/v1/apps/${encodeURIComponent(app)}/webhooks/${id}`,
    {},
  );
  if (values.json) printJson(answer);
  else say(`webhook ${answer.removed} of ${app} removed`);
  return 0;
}
