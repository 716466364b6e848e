import { statSync } from "node:fs";
import { copyFile, type FileHandle, open, stat, truncate } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { BatonError } from "../core/errors.js";
import { delay } from "../core/wait.js";

const CHUNK_BYTES = 64 * 1024;
/** A "line" without a newline for this long is delivered anyway, so a runaway write cannot grow memory. */
const MAX_PENDING_CHARS = 1024 * 1024;

/**
 * The last `n` lines of a log file, read backwards from its end in chunks, so the tail of a
 * multi-gigabyte log costs a few reads. At most `maxBytes` from the end are read (a line longer
 * than that is left out). A missing file has no lines. An unterminated last line (the app is
 * writing it) is included, as tail(1) does.
 */
export async function readLastLines(path: string, n: number, maxBytes = 8 * 1024 * 1024): Promise<string[]> {
  if (n <= 0) return [];
  const handle = await openIfExists(path);
  if (handle === undefined) return [];
  try {
    const { size } = await handle.stat();
    const floor = Math.max(0, size - maxBytes);
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    // n + 1 newlines isolate n whole lines even when the file ends with one.
    while (position > floor && newlines <= n) {
      const length = Math.min(CHUNK_BYTES, position - floor);
      position -= length;
      const chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      const read = chunk.subarray(0, bytesRead);
      chunks.unshift(read);
      newlines += countNewlines(read);
    }
    // Decoded once, whole: a chunk boundary may fall inside a multi-byte character.
    const lines = Buffer.concat(chunks).toString("utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    // Reading stopped mid-file, so the first piece is (or may be) the end of a longer line.
    if (position > 0) lines.shift();
    return lines.slice(-n).map(withoutCR);
  } finally {
    await handle.close();
  }
}

export interface FollowOptions {
  intervalMs?: number;
}

/**
 * Deliver the complete lines appended to a log from now on, until `signal` aborts (then it
 * resolves). Polls with stat rather than fs.watch: watch events are not delivered for every
 * filesystem (overlay, NFS), and a 200 ms poll is cheap and fast enough for a person watching.
 * When the file shrinks (copy-truncate rotation) or is replaced, reading starts again at 0.
 * A truncation followed, within one poll, by writes that make the file bigger than before cannot
 * be seen from its size; those lines are skipped.
 */
export async function followFile(
  path: string,
  onLines: (lines: string[]) => void,
  signal: AbortSignal,
  { intervalMs = 200 }: FollowOptions = {},
): Promise<void> {
  // Taken synchronously, so whatever the caller appends after this call returns is delivered.
  const start = statIfExists(path);
  let offset = start?.size ?? 0;
  let inode = start?.ino;
  let decoder = new StringDecoder("utf8");
  let pending = "";
  for (;;) {
    try {
      await delay(intervalMs, signal);
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    const now = await statIfExistsAsync(path);
    const size = now?.size ?? 0;
    if (now?.ino !== inode || size < offset) {
      inode = now?.ino;
      offset = 0;
      // The half line we held belonged to the old content.
      pending = "";
      decoder = new StringDecoder("utf8");
    }
    if (size <= offset) continue;
    const handle = await openIfExists(path);
    if (handle === undefined) continue;
    try {
      while (offset < size && !signal.aborted) {
        const buffer = Buffer.alloc(Math.min(CHUNK_BYTES * 16, size - offset));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        pending += decoder.write(buffer.subarray(0, bytesRead));
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        if (pending.length > MAX_PENDING_CHARS) {
          lines.push(pending);
          pending = "";
        }
        if (lines.length > 0 && !signal.aborted) onLines(lines.map(withoutCR));
      }
    } finally {
      await handle.close();
    }
  }
}

/**
 * Keep a log under `maxBytes`: when it is larger, its content moves to `path.1` (replacing the
 * previous one) and the log starts again empty. Returns whether it rotated.
 *
 * Copy-then-truncate rather than rename: the instance holds the log open for as long as it runs
 * and would go on writing into the renamed file. Truncating in place keeps its descriptor valid,
 * and because the instance opened the file with O_APPEND (instance.ts) its next write lands at the
 * new end (0) instead of at its old offset, which would leave a hole of zeros. The price: lines
 * written between the copy and the truncation are lost (as with logrotate's copytruncate).
 */
export async function rotateIfLarger(path: string, maxBytes: number): Promise<boolean> {
  if (!Number.isFinite(maxBytes) || maxBytes < 0) {
    throw new BatonError("BATON_USAGE", `maxBytes must be a finite number ≥ 0 (got ${maxBytes})`);
  }
  const current = await statIfExistsAsync(path);
  if (current === undefined || current.size <= maxBytes) return false;
  await copyFile(path, `${path}.1`);
  await truncate(path, 0);
  return true;
}

function countNewlines(buffer: Buffer): number {
  let count = 0;
  for (let i = buffer.indexOf(0x0a); i !== -1; i = buffer.indexOf(0x0a, i + 1)) count++;
  return count;
}

function withoutCR(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function statIfExists(path: string): { size: number; ino: number } | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function statIfExistsAsync(path: string): Promise<{ size: number; ino: number } | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
