import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomicAsync } from "../core/atomic-write.js";
import { BatonError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { RoutingTable, TableSnapshot } from "./table.js";

/**
 * The routing table on disk: read once at start (so a restarted router routes before the control
 * plane speaks), rewritten atomically whenever its content changes.
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

/** How soon a snapshot write that failed (a full disk) is tried again. */
export const SNAPSHOT_RETRY_MS = 2_000;

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
  /**
   * The text last written. A change that leaves the snapshot as it was (a putApp with the same
   * spec, or "no canary" for an app that has none: the switch step sends both) writes nothing: no
   * fsync for the thread pool and the disk, and its admin call answers without waiting for one.
   */
  private lastWritten: string | undefined;
  /** Failed writes in a row (a full disk); the first is logged, the recovery too. */
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;

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
    // Yield once first: `changed()` assigns this promise to `writing` only when this call returns,
    // and a run that writes nothing (an unchanged snapshot) would otherwise clear `writing` before
    // that, leaving a settled promise there for good.
    await undefined;
    while (this.dirty) {
      this.dirty = false;
      const text = `${JSON.stringify(this.table.snapshot(), null, 2)}\n`;
      if (text === this.lastWritten) {
        // Back to what the file holds (failed writes leave it as it was): nothing is missing.
        if (this.failures > 0) this.recovered(path);
        continue;
      }
      try {
        await writeFileAtomicAsync(path, text);
        this.lastWritten = text;
        if (this.failures > 0) this.recovered(path);
      } catch (error) {
        // Routing goes on from memory. Failing the admin call would report a change as failed that
        // already took effect. The write is retried (and by the next change), so the snapshot does
        // not stay stale once space is back, even if nothing changes for a long time. Logged once
        // per run of failures: the log is likely on the same full disk.
        if (this.failures === 0)
          this.log.error("could not persist the routing table; routing goes on from memory, retrying", {
            path,
            code: (error as { code?: unknown }).code,
            error: (error as Error).message,
            retryMs: SNAPSHOT_RETRY_MS,
          });
        this.failures++;
        this.scheduleRetry();
      }
    }
    this.writing = undefined;
  }

  private recovered(path: string): void {
    this.log.info("routing table persisted again", { path, failedAttempts: this.failures });
    this.failures = 0;
  }

  private scheduleRetry(): void {
    if (this.retry !== undefined) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.changed();
    }, SNAPSHOT_RETRY_MS);
    this.retry.unref();
  }
}
