import { performance } from "node:perf_hooks";
import { type Logger, pino } from "pino";
import { PINO_OPTIONS } from "../core/log.js";
import type { InboundRequest } from "./client-message.js";

/**
 * The router's access log (`baton router --access-log PATH|-`): one JSON line per request it
 * routed to an app, written with pino through an asynchronous destination so the request path only
 * serialises a line; the disk write happens off it, in batches.
 *
 * Off unless asked for. When off, the router holds no AccessLog and each call site is
 * `ctx.accessLog?.record(...)`: optional chaining skips the call and the evaluation of its
 * arguments, so a router without an access log does no per-request work for it.
 */
export class AccessLog {
  private constructor(
    private readonly logger: Logger,
    private readonly destination: ReturnType<typeof pino.destination>,
  ) {}

  /** `-` writes to stdout; anything else is a file, appended to (created with mode 0600). */
  static open(path: string): AccessLog {
    const destination = pino.destination({ dest: path === "-" ? 1 : path, sync: false, mkdir: true, mode: 0o600 });
    return new AccessLog(pino({ ...PINO_OPTIONS, name: "access" }, destination), destination);
  }

  /**
   * One finished request: who served it (`release`, `target` host:port; null when the router
   * answered itself, e.g. a hold timeout), its status and its time since `startedAt`
   * (performance.now() when the router received it), and how many Targets it was tried on.
   */
  record(
    req: InboundRequest,
    requestId: string,
    app: string,
    release: string | null,
    target: string | null,
    status: number,
    startedAt: number,
    attempts: number,
  ): void {
    this.logger.info(
      {
        reqId: requestId,
        app,
        release,
        target,
        method: req.method,
        path: req.url,
        status,
        ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
        attempts,
      },
      "request",
    );
  }

  /** Write out what is buffered (at close, so the last requests are not lost). */
  flush(): void {
    try {
      this.destination.flushSync();
    } catch {
      // Nothing buffered, or the destination is not open yet: nothing to lose.
    }
  }
}
