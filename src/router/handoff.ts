import { type ChildProcess, spawn } from "node:child_process";
import type { Server } from "node:net";
import { BatonError } from "../core/errors.js";

/**
 * Restarting or upgrading the router without refusing a connection: the running router starts
 * its successor (the same command line, so the code now on disk: an upgrade), hands it the
 * listening sockets over IPC (the HTTP port's, and the HTTPS port's when it has one), and once the successor has restored the routing table and owns the
 * admin socket, stops accepting and retires (router.ts). The kernel keeps one listening socket
 * throughout, shared by both processes for a moment, so a client connecting at any time is
 * accepted by one of them. Node 20 has no SO_REUSEPORT; passing the socket works on every
 * supported version.
 */

/** Set in the successor's environment: wait for the listening socket instead of binding the port. */
const SUCCESSOR_ENV = "BATON_ROUTER_SUCCESSOR";
const HANDOFF_TIMEOUT_MS = 15_000;

interface ListenMessage {
  baton: "listen";
  /** Which listener this is: 0 the HTTP port, 1 the HTTPS port. One handle goes per message. */
  index: number;
}
interface ReadyMessage {
  baton: "ready";
}

/** True in a router started by startSuccessor(). */
export function isSuccessor(): boolean {
  return process.env[SUCCESSOR_ENV] === "1" && typeof process.send === "function";
}

/** In the successor: the `count` listening sockets its predecessor sends, in its order. */
export function receiveListeners(count: number, timeoutMs = HANDOFF_TIMEOUT_MS): Promise<Server[]> {
  return new Promise((resolve, reject) => {
    const received: Server[] = [];
    let missing = count;
    const timer = setTimeout(() => {
      process.off("message", onMessage);
      reject(
        new BatonError(
          "BATON_TIMEOUT",
          `${missing} of ${count} listening sockets did not come from the previous router within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    const onMessage = (message: ListenMessage, handle: unknown): void => {
      if (message?.baton !== "listen" || handle === undefined) return;
      const index = message.index ?? 0;
      if (received[index] === undefined) missing--;
      received[index] = handle as Server;
      if (missing > 0) return;
      clearTimeout(timer);
      process.off("message", onMessage);
      resolve(received);
    };
    process.on("message", onMessage);
  });
}

/** In the successor, once it routes and owns the admin socket: the predecessor may retire. */
export function announceReady(): void {
  process.send?.({ baton: "ready" } satisfies ReadyMessage);
  // The channel must not keep this process alive, nor end it when the predecessor exits.
  process.channel?.unref();
  delete process.env[SUCCESSOR_ENV];
}

/**
 * In the running router: start the successor with this process's own command line and Node
 * flags, send it `listeners`, and resolve with its pid once it is ready. On any failure the
 * successor is killed and the caller keeps serving as before.
 */
export async function startSuccessor(listeners: readonly Server[], timeoutMs = HANDOFF_TIMEOUT_MS): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    cwd: process.cwd(),
    env: { ...process.env, [SUCCESSOR_ENV]: "1" },
    // Its log goes where ours goes (the router log the server opened for us).
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    detached: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BatonError("BATON_TIMEOUT", `the new router was not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const done = (error?: Error): void => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        child.off("error", done);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onMessage = (message: ReadyMessage): void => {
        if (message?.baton === "ready") done();
      };
      const onExit = (code: number | null): void =>
        done(new BatonError("BATON_ROUTER_UNREACHABLE", `the new router exited (${code}) before it was ready`));
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.once("error", done);
      for (const [index, listener] of listeners.entries()) {
        child.send({ baton: "listen", index } satisfies ListenMessage, listener);
      }
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  child.disconnect();
  child.unref();
  return child.pid as number;
}
