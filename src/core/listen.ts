import type { Server } from "node:net";
import { BatonError } from "./errors.js";

/**
 * Listen on TCP; resolves with the port (the chosen one when `port` is 0). A port that is taken
 * or not allowed fails with BATON_PORT_UNAVAILABLE naming the address and `option` (the flag that
 * chose it), since "EADDRINUSE" alone tells a person neither which port nor what to change.
 */
export async function listenTcp(server: Server, port: number, host: string, option?: string): Promise<number> {
  try {
    await listening(server, (done) => server.listen(port, host, done));
  } catch (error) {
    throw portUnavailable(error as NodeJS.ErrnoException, host, port, option);
  }
  return tcpPort(server) ?? port;
}

/** Accept connections on a listening socket another process handed over (a router's handoff). */
export function acceptOn(server: Server, listener: Server): Promise<void> {
  return listening(server, (done) => server.listen(listener, done));
}

/** The port a TCP server listens on; undefined before listen() and after close(). */
export function tcpPort(server: Server): number | undefined {
  const address = server.address();
  return typeof address === "object" && address !== null ? address.port : undefined;
}

/** Resolves once `start` has the server listening; rejects with the server's first error before that. */
function listening(server: Server, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    start(() => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** What each refusal means and what to do about it (`%h` is the host, `%p` the port). */
const REFUSALS: Record<string, { says: string; hint: string }> = {
  EADDRINUSE: {
    says: "is already in use by another process",
    hint: "`ss -ltnp 'sport = :%p'` shows who holds it; stop it or choose another port",
  },
  EACCES: {
    says: "is not allowed for this user",
    hint: "ports under 1024 need root or `setcap cap_net_bind_service=+ep` on node; or choose a port above 1023",
  },
  EADDRNOTAVAIL: {
    says: "cannot be bound: no interface of this machine has %h",
    hint: "use 127.0.0.1, 0.0.0.0 or an address `ip addr` lists",
  },
};

function portUnavailable(error: NodeJS.ErrnoException, host: string, port: number, option?: string): Error {
  const refusal = REFUSALS[error.code ?? ""];
  if (refusal === undefined) return error;
  const fill = (text: string): string => text.replaceAll("%h", host).replaceAll("%p", String(port));
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}${option === undefined ? "" : ` (${option})`}`;
  return new BatonError("BATON_PORT_UNAVAILABLE", `${where} ${fill(refusal.says)}`, {
    cause: error,
    details: { host, port, option: option ?? null },
    hint: fill(refusal.hint),
  });
}
