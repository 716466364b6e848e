import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../core/atomic-write.js";
import { BatonError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { RoutingTable, TableSnapshot } from "./table.js";

/**
 * The routing table on disk: read once at start (so a restarted router routes before the control
 * plane speaks), rewritten atomically after every change.
 */
export function restoreTable(table: RoutingTable, path: string | undefined, log: Logger): void {
  if (path === undefined || !existsSync(path)) return;
  let snapshot: TableSnapshot;
  try {
    snapshot = JSON.parse(readFileSync(path, "utf8")) as TableSnapshot;
    if (snapshot.version !== 1 || !Array.isArray(snapshot.apps)) throw new Error("unknown snapshot format");
  } catch (error) {
    // Refuse to start rather than route nothing: an empty table would answer 404 for every app.
    throw new BatonError("BATON_STATE_CORRUPT", `routing table snapshot ${path} could not be read`, {
      cause: error,
      hint: `move ${path} aside and restart the router; the control plane will send the routes again`,
    });
  }
  table.restore(snapshot);
  log.info("routing table restored", { path, apps: snapshot.apps.length });
}

export function persistTable(table: RoutingTable, path: string | undefined, log: Logger): void {
  if (path === undefined) return;
  try {
    writeFileAtomic(path, `${JSON.stringify(table.snapshot(), null, 2)}\n`);
  } catch (error) {
    // Routing goes on from memory; the next change tries again. Throwing here would fail an admin
    // call whose change already took effect.
    log.error("could not persist the routing table", { path, error: String(error) });
  }
}
