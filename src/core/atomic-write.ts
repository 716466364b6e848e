import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { orDiskFull } from "./disk-full.js";

/**
 * Write a file so that a reader (or a restart after a crash) sees either the old content or the
 * new content, never a torn mix: write a temporary file beside it, fsync, rename over, fsync the
 * directory. Every system call runs on libuv's thread pool: the router's event loop must never
 * stall, and an fsync on a busy disk can take many milliseconds.
 *
 * On a failure (a full disk: BATON_DISK_FULL) the temporary file is removed, so a failed write
 * neither holds on to the space it took nor leaves a torn file behind; `path` keeps its old content.
 */
export async function writeFileAtomicAsync(path: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const file = await open(tmp, "w", mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw orDiskFull(error, {
      path,
      doing: `writing ${path}`,
      neededBytes: Buffer.byteLength(content),
      untouched: `${path} keeps its previous content`,
    });
  }
  try {
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic for readers.
  }
}
