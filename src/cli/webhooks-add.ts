import { BatonError } from "../core/errors.js";
import type { WebhookRecord } from "../store/store.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "send an app's deploy events to a URL (signed JSON, or Slack's format)";

export const usage = `baton webhooks:add --app NAME URL [--format json|slack] [--secret S] [--home DIR] [--json]

POSTs every deploy event of NAME (queued, started, each step, succeeded, failed, rolled back,
superseded) to URL. Headers: X-Baton-Event, X-Baton-Delivery (one id for all attempts),
X-Baton-Timestamp, and X-Baton-Signature: sha256=HEX, the HMAC-SHA256 with the secret of
"<timestamp>.<body>". A receiver that answers 5xx or 429, or not at all within 10 s, gets the
delivery again with growing waits (6 attempts); any other 4xx ends it. --format slack sends
{ "text": ... } for a Slack incoming webhook. The secret (generated unless given, 16+ characters)
is printed once, here.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...COMMON_OPTIONS, ...APP_OPTION, format: { type: "string" }, secret: { type: "string" } },
    true,
  );
  const app = requireApp(values.app);
  const [url, ...extra] = positionals;
  if (url === undefined || extra.length > 0) throw new BatonError("BATON_USAGE", "give one URL");
  const { webhook } = await client(values.home).post<{ webhook: WebhookRecord }>(
    `/v1/apps/${encodeURIComponent(app)}/webhooks`,
    { url, format: values.format ?? "json", ...(values.secret === undefined ? {} : { secret: values.secret }) },
  );
  if (values.json) printJson({ webhook });
  else {
    say(`webhook ${webhook.id} of ${app}: ${webhook.format} to ${webhook.url}`);
    say(`secret (shown once; verify X-Baton-Signature with it): ${webhook.secret}`);
  }
  return 0;
}
