import { request } from "node:http";
import { connect } from "node:net";

/**
 * The active check that brings an ejected Target back: a TCP connect, or an HTTP GET of the
 * pool's health path that must answer below 500. Repeats until it passes or is stopped.
 */
export class HealthCheck {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly path: string | undefined,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(onPass: () => void): void {
    const attempt = (): void => {
      if (this.stopped) return;
      this.probe().then((ok) => {
        if (this.stopped) return;
        if (ok) onPass();
        else this.timer = setTimeout(attempt, this.intervalMs);
      });
    };
    this.timer = setTimeout(attempt, this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  probe(): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.path === undefined) {
        const socket = connect({ host: this.host, port: this.port });
        socket.setTimeout(this.timeoutMs, () => socket.destroy());
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
        socket.once("close", () => resolve(false));
        return;
      }
      const req = request({ host: this.host, port: this.port, path: this.path, method: "GET", agent: false });
      req.setTimeout(this.timeoutMs, () => req.destroy());
      req.once("response", (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      });
      req.once("error", () => resolve(false));
      req.end();
    });
  }
}
