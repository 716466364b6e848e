import { writeSync } from "node:fs";
import type { Readable } from "node:stream";
import { BatonError } from "../core/errors.js";

/**
 * git's pkt-line framing, as the proc-receive hook speaks it with `git receive-pack`: four hex
 * digits of length (the four included), then the payload; "0000" is a flush. Reads pull from a
 * stream one packet at a time, because the exchange is a conversation (git waits for our version
 * before it sends the commands).
 */
export class PktReader {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private waiting: (() => void) | undefined;

  constructor(input: Readable) {
    input.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    input.on("end", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** The next packet's payload (a trailing newline removed), or null for a flush. */
  async read(): Promise<string | null> {
    for (;;) {
      if (this.buffer.length >= 4) {
        const length = Number.parseInt(this.buffer.subarray(0, 4).toString("ascii"), 16);
        if (Number.isNaN(length)) throw protocolError(`bad pkt-line length "${this.buffer.subarray(0, 4)}"`);
        if (length === 0) {
          this.buffer = this.buffer.subarray(4);
          return null;
        }
        if (this.buffer.length >= length) {
          const payload = this.buffer.subarray(4, length).toString("utf8");
          this.buffer = this.buffer.subarray(length);
          return payload.endsWith("\n") ? payload.slice(0, -1) : payload;
        }
      }
      if (this.ended) throw protocolError("git receive-pack closed the hook's input mid-conversation");
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  /** Every packet up to the next flush. */
  async readSection(): Promise<string[]> {
    const lines: string[] = [];
    for (let line = await this.read(); line !== null; line = await this.read()) lines.push(line);
    return lines;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

/** Write packets then a flush to file descriptor `fd` (the hook's stdout, git's protocol channel). */
export function writeSection(fd: number, lines: readonly string[]): void {
  for (const line of lines) {
    const payload = Buffer.from(`${line}\n`, "utf8");
    writeSync(fd, Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, "0"), "ascii"), payload]));
  }
  writeSync(fd, "0000");
}

function protocolError(message: string): BatonError {
  return new BatonError("BATON_GIT_FAILED", `proc-receive: ${message}`);
}
