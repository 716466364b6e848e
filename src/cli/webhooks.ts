import { BatonError } from "../core/errors.js";
import type { EventRecord, WebhookRecord } from "../store/store.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { renderTable } from "./table.js";

export const summary = "list an app's webhooks and their latest deliveries";

export const usage = `baton webhooks --app NAME [--home DIR] [--json]

Each webhook gets the app's deploy events (queued, started, each step, succeeded, failed, rolled
back, superseded) as a signed JSON POST; see \`baton help webhooks:add\`. Below the list: the
delivery log (last 20 deliveries, delivered or failed after its retries).`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  if (positionals.length > 0) throw new BatonError("BATON_USAGE", "baton webhooks takes no arguments");
  const api = client(values.home);
  const path = `/v1/apps/${encodeURIComponent(app)}/webhooks`;
  const { webhooks } = await api.get<{ webhooks: Omit<WebhookRecord, "secret">[] }>(path);
  const { deliveries } = await api.get<{ deliveries: EventRecord[] }>(`${path}/deliveries?limit=20`);
  if (values.json) {
    printJson({ webhooks, deliveries });
    return 0;
  }
  if (webhooks.length === 0) say(`${app} has no webhooks (baton webhooks:add --app ${app} URL)`);
  else say(renderTable([["id", "format", "url"], ...webhooks.map((w) => [String(w.id), w.format, w.url])]));
  if (deliveries.length > 0) {
    say("");
    say(
      renderTable([
        ["time", "webhook", "event", "outcome"],
        ...deliveries.map((d) => [
          new Date(d.time).toISOString().slice(0, 19).replace("T", " "),
          String(d.data.webhook ?? ""),
          String(d.data.event ?? ""),
          d.kind === "webhook.delivered"
            ? `delivered (HTTP ${d.data.status}, attempt ${d.data.attempts})`
            : `failed after ${d.data.attempts} attempt(s): ${d.data.error}`,
        ]),
      ]),
    );
  }
  return 0;
}
