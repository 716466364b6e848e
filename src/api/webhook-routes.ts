import { randomBytes } from "node:crypto";
import { BatonError } from "../core/errors.js";
import type { ControlPlane } from "../deploy/control-plane.js";
import type { WebhookRecord } from "../store/store.js";

type Handler = (ctx: { params: string[]; body: Record<string, unknown>; query: URLSearchParams }) => Promise<unknown>;

/** A webhook as listed: the secret is shown once, when it is added, never again. */
const view = ({ secret: _secret, ...rest }: WebhookRecord) => rest;

/**
 * Webhooks of an app (docs/cli.md): add, list, remove, and the delivery log (the
 * webhook.delivered / webhook.failed events the dispatcher records).
 */
export function webhookRoutes(plane: ControlPlane): Array<[method: string, pattern: RegExp, handler: Handler]> {
  const { store } = plane;
  const existing = (name: string): string => {
    if (store.getApp(name) === undefined)
      throw new BatonError("BATON_NOT_FOUND", `app "${name}" does not exist`, { hint: "`baton apps` lists the apps" });
    return name;
  };
  return [
    [
      "GET",
      /^\/v1\/apps\/([^/]+)\/webhooks$/,
      async ({ params: [name] }) => ({ webhooks: store.listWebhooks(existing(name ?? "")).map(view) }),
    ],
    [
      "POST",
      /^\/v1\/apps\/([^/]+)\/webhooks$/,
      async ({ params: [name], body }) => {
        const app = existing(name ?? "");
        const problems: string[] = [];
        let url: URL | undefined;
        try {
          url = new URL(String(body.url ?? ""));
          if (url.protocol !== "https:" && url.protocol !== "http:") problems.push("url must be http:// or https://");
        } catch {
          problems.push(`url ${JSON.stringify(body.url)} is not a URL`);
        }
        const format = body.format ?? "json";
        if (format !== "json" && format !== "slack") problems.push('format must be "json" or "slack"');
        const secret = body.secret ?? randomBytes(24).toString("base64url");
        if (typeof secret !== "string" || secret.length < 16) problems.push("secret must be at least 16 characters");
        if (problems.length > 0 || url === undefined) throw new BatonError("BATON_USAGE", problems.join("; "));
        const hook = store.addWebhook({
          app,
          url: url.href,
          secret: secret as string,
          format: format as "json" | "slack",
        });
        plane.events.emit(app, null, "webhook.added", `webhook ${hook.id} added (${format})`, { webhook: hook.id });
        return { webhook: hook };
      },
    ],
    [
      "DELETE",
      /^\/v1\/apps\/([^/]+)\/webhooks\/(\d+)$/,
      async ({ params: [name, id] }) => {
        const app = existing(name ?? "");
        if (!store.removeWebhook(app, Number(id)))
          throw new BatonError("BATON_NOT_FOUND", `app ${app} has no webhook ${id}`, {
            hint: `\`baton webhooks --app ${app}\` lists them`,
          });
        plane.events.emit(app, null, "webhook.removed", `webhook ${id} removed`, { webhook: Number(id) });
        return { removed: Number(id) };
      },
    ],
    [
      "GET",
      /^\/v1\/apps\/([^/]+)\/webhooks\/deliveries$/,
      async ({ params: [name], query }) => {
        const app = existing(name ?? "");
        const limit = Math.min(Number(query.get("limit") ?? 50) || 50, 1_000);
        const deliveries = store.listEvents({
          app,
          kinds: ["webhook.delivered", "webhook.failed"],
          limit,
          newest: true,
        });
        return { deliveries };
      },
    ],
  ];
}
