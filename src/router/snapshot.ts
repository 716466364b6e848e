import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomicAsync } from "../core/atomic-write.js";
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

/**
 * Writes the snapshot after every change without blocking the event loop: the write and its fsync
 * run on libuv's thread pool (an fsync on a busy disk can take many milliseconds, which would
 * stall every request in flight). Changes made during a write are coalesced into one more write.
 * The admin API awaits `flushed()` before it answers, so a caller that got an answer knows its
 * change is on disk.
 */
export class SnapshotWriter {
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(
    private readonly table: RoutingTable,
    private readonly path: string | undefined,
    private readonly log: Logger,
  ) {}

  changed(): void {
    if (this.path === undefined) return;
    this.dirty = true;
    this.writing ??= this.writeWhileDirty();
  }

  /** Resolves once every change made so far is on disk (or failed to be written, logged). */
  async flushed(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async writeWhileDirty(): Promise<void> {
    const path = this.path as string;
    while (this.dirty) {
      this.dirty = false;
      try {
        await writeFileAtomicAsync(path, `${JSON.stringify(this.table.snapshot(), null, 2)}\n`);
      } catch (error) {
        // Routing goes on from memory; the next change tries again. Failing the admin call would
        // report a change as failed that already took effect.
        this.log.error("could not persist the routing table", { path, error: String(error) });
      }
    }
    this.writing = undefined;
  }
}
