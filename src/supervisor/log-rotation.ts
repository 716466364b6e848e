import { rm, truncate } from "node:fs/promises";
import type { Logger } from "../core/log.js";
import { rotateIfLarger } from "./logs.js";

/** How often the logs are measured: an app writing R bytes/s can pass the limit by R × this. */
export const LOG_CHECK_MS = 2_000;

/**
 * Bounded disk use for every log baton writes: the instances' (an app that floods its stdout),
 * the router's, the access log and the server's own. Every LOG_CHECK_MS each file larger than
 * `maxBytes` is copied to `<file>.1` (replacing the previous copy) and truncated in place
 * (rotateIfLarger), so a log never takes much more than twice `maxBytes`, and the writer, which
 * holds the file open with O_APPEND, goes on writing without being told.
 *
 * One sweep at a time: a slow disk makes sweeps later, never concurrent.
 */
export class LogRotation {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    /** The logs to watch, asked at every sweep (instances come and go). */
    private readonly paths: () => Iterable<string>,
    readonly maxBytes: number,
    private readonly log: Logger,
    private readonly intervalMs = LOG_CHECK_MS,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Rotate what is over the limit now; returns the files rotated. */
  async sweep(): Promise<string[]> {
    if (this.sweeping) return [];
    this.sweeping = true;
    const rotated: string[] = [];
    try {
      for (const path of new Set(this.paths())) {
        try {
          if (await rotateIfLarger(path, this.maxBytes)) rotated.push(path);
        } catch (error) {
          this.log.warn("log rotation failed", { path, error: (error as Error).message });
          // The disk is full: keeping the old lines would keep it full (and fail deploys and the
          // store), so they go. Anything else (a file gone, no permission): the next sweep retries.
          if ((error as NodeJS.ErrnoException).code === "ENOSPC") await emptyLog(path, this.log);
        }
      }
    } finally {
      this.sweeping = false;
    }
    if (rotated.length > 0) this.log.info("logs rotated", { files: rotated, maxBytes: this.maxBytes });
    return rotated;
  }
}

async function emptyLog(path: string, log: Logger): Promise<void> {
  try {
    await rm(`${path}.1`, { force: true });
    await truncate(path, 0);
    log.warn("disk full: log emptied instead of rotated", { path });
  } catch {
    // Nothing more to do from here; the warning above already says what failed.
  }
}
