import { settledWithin } from "../core/wait.js";
import type { Pool } from "./pool.js";
import type { RoutingTable } from "./table.js";

export interface DrainOptions {
  /** Time in-flight requests get to finish before they are cut. */
  timeoutMs: number;
  /** Long connections are closed at random moments spread over this window. */
  streamCloseWindowMs: number;
}

export interface DrainReport {
  pool: string;
  release: string;
  targets: string[];
  inFlightAtStart: number;
  streamsAtStart: number;
  /** Requests still running at the drain timeout, cut by the router. */
  requestsCut: number;
  /** Long connections that did not close within the window plus a grace period. */
  streamsCut: number;
  durationMs: number;
}

/** After the close frame, the time a client gets to finish the WebSocket close handshake. */
export const STREAM_CLOSE_GRACE_MS = 2_500;

/**
 * Drain a Pool that was handed back by a swap: it already gets no new requests; wait for its
 * in-flight requests (up to the timeout), then close its WebSocket and SSE connections politely,
 * staggered so thousands of clients do not reconnect in the same millisecond, then release it.
 * Targets that another live Pool still uses are left alone.
 */
export async function drainPool(table: RoutingTable, pool: Pool, options: DrainOptions): Promise<DrainReport> {
  const started = Date.now();
  const targets = table.exclusiveTargets(pool);
  const inFlightAtStart = targets.reduce((n, t) => n + t.inFlight, 0);
  const streamsAtStart = targets.reduce((n, t) => n + t.streamCount, 0);

  await settledWithin(Promise.all(targets.map((t) => t.whenIdle())), options.timeoutMs);
  const requestsCut = targets.reduce((n, t) => n + t.inFlight, 0);

  const streams = targets.flatMap((t) => t.openStreams());
  if (streams.length > 0) {
    const window = options.streamCloseWindowMs;
    const timers = streams.map((stream) => setTimeout(() => stream.closeGracefully(), Math.random() * window));
    await settledWithin(Promise.all(targets.map((t) => t.whenNoStreams())), window + STREAM_CLOSE_GRACE_MS);
    for (const t of timers) clearTimeout(t);
  }
  const streamsCut = targets.reduce((n, t) => n + t.streamCount, 0);

  table.release(pool.id); // closes the Targets: cuts whatever is left, frees their sockets
  return {
    pool: pool.id,
    release: pool.release,
    targets: targets.map((t) => t.id),
    inFlightAtStart,
    streamsAtStart,
    requestsCut,
    streamsCut,
    durationMs: Date.now() - started,
  };
}
