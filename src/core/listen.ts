import type { Server } from "node:net";
import { BatonError } from "./errors.js";

/**
 * Listen on TCP; resolves with the port (the chosen one when `port` is 0). A port that is taken
 * or not allowed fails with BATON_PORT_UNAVAILABLE naming the address and `option` (the flag that
 * chose it), since "EADDRINUSE" alone tells a person neither which port nor what to change.
 */
export function listenTcp(server: Server, port: number, host: string, option?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => reject(portUnavailable(error, host, port, option));
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve(tcpPort(server) ?? port);
    });
  });
}

/** The port a TCP server listens on; undefined before listen() and after close(). */
export function tcpPort(server: Server): number | undefined {
  const address = server.address();
  return typeof address === "object" && address !== null ? address.port : undefined;
}

function portUnavailable(error: NodeJS.ErrnoException, host: string, port: number, option?: string): Error {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const flag = option === undefined ? "" : ` (${option})`;
  if (error.code === "EADDRINUSE") {
    return new BatonError("BATON_PORT_UNAVAILABLE", `${where}${flag} is already in use by another process`, {
      cause: error,
      details: { host, port, option: option ?? null },
      hint: `\`ss -ltnp 'sport = :${port}'\` shows who holds it; stop it or choose another port`,
    });
  }
  if (error.code === "EACCES") {
    return new BatonError("BATON_PORT_UNAVAILABLE", `${where}${flag} is not allowed for this user`, {
      cause: error,
      details: { host, port, option: option ?? null },
      hint: "ports under 1024 need root or `setcap cap_net_bind_service=+ep` on node; or choose a port above 1023",
    });
  }
  if (error.code === "EADDRNOTAVAIL") {
    return new BatonError("BATON_PORT_UNAVAILABLE", `${where}${flag}: no interface of this machine has ${host}`, {
      cause: error,
      details: { host, port, option: option ?? null },
      hint: "use 127.0.0.1, 0.0.0.0 or an address `ip addr` lists",
    });
  }
  return error;
}

/** Accept connections on a listening socket another process handed over (a router's handoff). */
export function acceptOn(server: Server, listener: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listener, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
