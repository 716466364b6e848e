import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Write a file so that a reader (or a restart after a crash) sees either the old content or the
 * new content, never a torn mix: write a temporary file beside it, fsync, rename over, fsync the
 * directory. Every system call runs on libuv's thread pool: the router's event loop must never
 * stall, and an fsync on a busy disk can take many milliseconds.
 */
export async function writeFileAtomicAsync(path: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const file = await open(tmp, "w", mode);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
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
