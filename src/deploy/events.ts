import { EventEmitter } from "node:events";
import { isDiskFull } from "../core/disk-full.js";
import type { Logger } from "../core/log.js";
import type { EventRecord, Store } from "../store/store.js";

/** What an event is made of: its app, its deploy (if any), kind, message and data. */
type EventArgs = [app: string, deployId: number | null, kind: string, message: string, data?: Record<string, unknown>];

/**
 * Deploy and instance events: written to the store (the history `baton logs` and the dashboard
 * read) and fanned out to live subscribers (a CLI streaming its deploy).
 */
export class EventLog {
  private readonly emitter = new EventEmitter();

  constructor(
    private readonly store: Store,
    private readonly log?: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  /**
   * Stored and sent live. On a full disk the event is only sent live (and logged): an event is
   * history, and many are emitted from callbacks (an instance crashed) where a throw would take
   * the control plane down, or from a failing deploy whose real error must reach the user.
   */
  emit(
    app: string,
    deployId: number | null,
    kind: string,
    message: string,
    data: Record<string, unknown> = {},
  ): EventRecord {
    try {
      return this.record(app, deployId, kind, message, data);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.log?.warn("disk full: event not stored", { app, kind, message });
      const event: EventRecord = { id: 0, app, deployId, time: Date.now(), kind, message, data };
      this.emitter.emit("event", event);
      return event;
    }
  }

  /** Like `emit`, but a full disk throws (BATON_DISK_FULL): for the audit log, which must not lose a line. */
  record(...event: EventArgs): EventRecord {
    const stored = this.persist(...event);
    this.publish(stored);
    return stored;
  }

  /**
   * Only the stored half of `record`, for a caller inside a store transaction: it hands the
   * event to `publish` once the transaction has committed. Listeners (webhooks, metrics, a
   * following CLI) must never hear of a row that a failed commit then took back.
   */
  persist(...[app, deployId, kind, message, data = {}]: EventArgs): EventRecord {
    return this.store.addEvent({ app, deployId, kind, message, data });
  }

  /** The live half of `record`, for an event `persist` wrote and its transaction committed. */
  publish(event: EventRecord): void {
    this.emitter.emit("event", event);
  }

  /**
   * Live only, never stored: build and release-command output. The step record keeps the output
   * (bounded); storing every chunk as an event too would grow the store without limit.
   */
  emitLive(
    app: string,
    deployId: number | null,
    kind: string,
    message: string,
    data: Record<string, unknown> = {},
  ): void {
    const event: EventRecord = { id: 0, app, deployId, time: Date.now(), kind, message, data };
    this.emitter.emit("event", event);
  }

  /** Call `listener` for every new event until the returned function is called. */
  subscribe(listener: (event: EventRecord) => void): () => void {
    this.emitter.on("event", listener);
    return () => this.emitter.off("event", listener);
  }
}
