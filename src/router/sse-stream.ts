import type { OutboundResponse } from "./client-message.js";
import type { LongConnection } from "./target.js";

/** How long a graceful close waits for the event in progress to complete before ending anyway. */
const EVENT_BOUNDARY_WAIT_MS = 1_000;

/**
 * A server-sent-events response forwarded chunk by chunk with no buffering. It remembers whether
 * the last chunk ended an event (a blank line), so drain can end the stream between events and
 * the browser's EventSource reconnects (to a new instance) without a torn event.
 */
export class SseStream implements LongConnection {
  private atBoundary = true;
  private closing = false;
  private ended = false;
  private fallback: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: OutboundResponse,
    /** Called once the stream was ended on purpose: let go of the instance's side. */
    private readonly onEnded: () => void,
  ) {}

  /** Forward one chunk from the instance; false means the client is not keeping up. */
  forward(chunk: Buffer): boolean {
    if (this.ended) return true;
    const flowing = this.res.write(chunk);
    const n = chunk.length;
    this.atBoundary =
      n >= 2 && chunk[n - 1] === 10 && (chunk[n - 2] === 10 || (chunk[n - 2] === 13 && chunk[n - 3] === 10));
    if (this.closing && this.atBoundary) this.endNow();
    return flowing;
  }

  closeGracefully(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.atBoundary) {
      this.endNow();
      return;
    }
    this.fallback = setTimeout(() => this.endNow(), EVENT_BOUNDARY_WAIT_MS);
  }

  private endNow(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.fallback !== undefined) clearTimeout(this.fallback);
    // End the client's stream cleanly (terminating chunk), then let the instance's side go.
    this.res.end();
    this.onEnded();
  }

  destroy(): void {
    if (this.fallback !== undefined) clearTimeout(this.fallback);
    this.ended = true;
    this.res.destroy();
    this.onEnded();
  }
}
