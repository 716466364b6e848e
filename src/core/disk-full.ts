import { existsSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import { BatonError } from "./errors.js";

/**
 * The one place that knows how a full disk shows itself: Node's ENOSPC (or EDQUOT, a quota that
 * behaves the same for the user), and SQLite's SQLITE_FULL ("database or disk is full", the
 * `code` better-sqlite3 puts on its SqliteError). Duck-typed on `code`, so the router, which never
 * loads better-sqlite3, can use it too.
 */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof BatonError) return error.code === "BATON_DISK_FULL";
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL";
}

/** Bytes an unprivileged writer can still use on the filesystem holding `path` (or an ancestor). */
export function freeBytes(path: string): number | undefined {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  try {
    const fs = statfsSync(at);
    return Number(fs.bavail) * Number(fs.bsize);
  } catch {
    return undefined;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export interface DiskFullFacts {
  /** The file or directory that could not be written. */
  path: string;
  /** What baton was doing, for the message: "copying the source of v3", "writing the store". */
  doing: string;
  /** Bytes the write needed, when known. */
  neededBytes?: number;
  /** What stayed as it was, for the hint; the default suits a deploy. */
  untouched?: string;
  cause?: unknown;
}

/** BATON_DISK_FULL naming the path, the space free (and needed), and what to do. */
export function diskFullError(facts: DiskFullFacts): BatonError {
  const free = freeBytes(facts.path);
  const needed = facts.neededBytes;
  const space = [
    free === undefined ? undefined : `${formatBytes(free)} free`,
    needed === undefined ? undefined : `about ${formatBytes(needed)} needed`,
  ]
    .filter(Boolean)
    .join(", ");
  return new BatonError(
    "BATON_DISK_FULL",
    `no space left on the disk holding ${facts.path} while ${facts.doing}${space === "" ? "" : ` (${space})`}`,
    {
      cause: facts.cause,
      details: {
        path: facts.path,
        ...(free === undefined ? {} : { freeBytes: free }),
        ...(needed === undefined ? {} : { neededBytes: needed }),
      },
      hint: `free space on the disk that holds ${facts.path}, then try again; ${facts.untouched ?? "the live release kept serving and nothing half-written was kept"}`,
    },
  );
}

/** `error` as BATON_DISK_FULL when it is a full disk (and not one already), else unchanged. */
export function orDiskFull(error: unknown, facts: Omit<DiskFullFacts, "cause">): unknown {
  if (error instanceof BatonError || !isDiskFull(error)) return error;
  return diskFullError({ ...facts, cause: error });
}
