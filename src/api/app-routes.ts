import { BatonError } from "../core/errors.js";
import { maintenanceView } from "../deploy/app-admin.js";
import type { ControlPlane } from "../deploy/control-plane.js";
import type { AppRecord } from "../store/store.js";

/** The part of a request these routes read; the API's own handler context has more. */
type AppHandler = (ctx: { params: string[]; body: Record<string, unknown> }) => Promise<unknown>;

/** Who asked, as the CLI says (its user); "api" when the caller did not say. */
const by = (body: Record<string, unknown>): string =>
  typeof body.by === "string" && body.by.trim() !== "" ? body.by.trim().slice(0, 200) : "api";

const maintenanceOf = (app: AppRecord) => ({ app: app.name, maintenance: maintenanceView(app.maintenance) });
const domainsOf = (app: AppRecord) => ({ app: app.name, domains: app.domains, isDefault: app.isDefault });
const lockOf = (app: AppRecord) => ({ app: app.name, lock: app.lock });

function text(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") throw new BatonError("BATON_USAGE", `the request needs "${key}"`);
  return value;
}

/**
 * Admin routes for an app outside deploys (docs/cli.md): maintenance mode, domains, the deploy
 * lock and destroy. Kept apart from server-api.ts so its deploy routes stay readable.
 */
export function appAdminRoutes(plane: ControlPlane): Array<[method: string, pattern: RegExp, handler: AppHandler]> {
  const { apps, store } = plane;
  const existing = (name: string): AppRecord => {
    const record = store.getApp(name);
    if (record === undefined)
      throw new BatonError("BATON_NOT_FOUND", `app "${name}" does not exist`, { hint: "`baton apps` lists the apps" });
    return record;
  };
  return [
    ["GET", /^\/v1\/apps\/([^/]+)\/maintenance$/, async ({ params: [name] }) => maintenanceOf(existing(name ?? ""))],
    [
      "PUT",
      /^\/v1\/apps\/([^/]+)\/maintenance$/,
      async ({ params: [name], body }) =>
        maintenanceOf(await apps.setMaintenance(name ?? "", body.enabled === true ? body : null, by(body))),
    ],
    ["GET", /^\/v1\/apps\/([^/]+)\/domains$/, async ({ params: [name] }) => domainsOf(existing(name ?? ""))],
    [
      "POST",
      /^\/v1\/apps\/([^/]+)\/domains$/,
      async ({ params: [name], body }) => domainsOf(await apps.addDomain(name ?? "", text(body, "host"), by(body))),
    ],
    [
      "DELETE",
      /^\/v1\/apps\/([^/]+)\/domains\/([^/]+)$/,
      async ({ params: [name, host], body }) => domainsOf(await apps.removeDomain(name ?? "", host ?? "", by(body))),
    ],
    [
      "PUT",
      /^\/v1\/apps\/([^/]+)\/lock$/,
      async ({ params: [name], body }) => lockOf(apps.lock(name ?? "", text(body, "reason"), by(body))),
    ],
    [
      "DELETE",
      /^\/v1\/apps\/([^/]+)\/lock$/,
      async ({ params: [name], body }) => lockOf(apps.unlock(name ?? "", by(body))),
    ],
    [
      "DELETE",
      /^\/v1\/apps\/([^/]+)$/,
      async ({ params: [name], body }) => ({ destroyed: await apps.destroy(name ?? "", body.confirm, by(body)) }),
    ],
  ];
}
