import type { Server as NetServer, Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { BatonError } from "../core/errors.js";
import { acceptOn, listenTcp } from "../core/listen.js";
import type { Logger } from "../core/log.js";
import { CertificateSet, TLS_MIN_VERSION } from "./certificates.js";

/**
 * The router's HTTPS port: TLS only. It does the handshake, picking the certificate by SNI, and
 * hands each secure socket to `onSecure` (the router gives it to the same HTTP handling as its
 * plaintext connections), so nothing of the HTTP side depends on how TLS is done, nor the other
 * way round.
 *
 * Certificates are loaded once into secure contexts; reload() swaps the whole set at once, so
 * new handshakes use the new certificates while open connections keep the ones they began with.
 * A reload that fails keeps the set in use.
 */
export class TlsListener {
  readonly server: Server;
  private certificates: CertificateSet;

  constructor(
    readonly dir: string,
    handshakeTimeoutMs: number,
    onSecure: (socket: TLSSocket) => void,
    private readonly log: Logger,
  ) {
    // Load at once: bad files fail the router's start, before it listens anywhere.
    this.certificates = CertificateSet.load(dir);
    this.server = createServer(
      {
        minVersion: TLS_MIN_VERSION,
        ALPNProtocols: ["http/1.1"],
        handshakeTimeout: handshakeTimeoutMs,
        SNICallback: (servername, callback) => {
          const context = this.certificates.contextFor(servername);
          if (context === undefined) callback(new Error(`no certificate for "${servername}" and no default pair`));
          else callback(null, context);
        },
        // A client that sends no SNI (an IP address, an old client) gets the default pair.
        ...this.certificates.fallback?.pair,
      },
      onSecure,
    );
    // A failed handshake (bad client, unknown name, slowloris during the handshake) is the
    // client's problem: its socket is closed, the router goes on.
    this.server.on("tlsClientError", (_error: Error, socket: Socket) => socket.destroy());
    this.logLoaded("TLS certificates loaded");
  }

  get port(): number | undefined {
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : undefined;
  }

  /** Bind `port` on `host`, or accept on a listening socket a predecessor handed over. */
  async listen(port: number, host: string, inherited?: NetServer): Promise<void> {
    if (inherited !== undefined) await acceptOn(this.server, inherited);
    else await listenTcp(this.server, port, host, "--https-port");
  }

  /** Read the directory again; on any problem the certificates in use stay and the error is thrown. */
  reload(): ReturnType<CertificateSet["describe"]> {
    let next: CertificateSet;
    try {
      next = CertificateSet.load(this.dir);
    } catch (error) {
      this.log.error("TLS reload failed; the certificates in use stay", {
        error: (error as Error).message,
      });
      throw error instanceof BatonError
        ? error
        : new BatonError("BATON_TLS_CERT_INVALID", `TLS reload failed: ${(error as Error).message}`);
    }
    this.certificates = next;
    // Handshakes without SNI use the server's own context: give it the new default pair too.
    if (next.fallback !== undefined) {
      this.server.setSecureContext({ ...next.fallback.pair, minVersion: TLS_MIN_VERSION });
    }
    this.logLoaded("TLS certificates reloaded");
    return next.describe();
  }

  describe(): ReturnType<CertificateSet["describe"]> {
    return this.certificates.describe();
  }

  private logLoaded(message: string): void {
    const described = this.certificates.describe();
    this.log.info(message, {
      dir: this.dir,
      certificates: described.certificates.map((c) => `${c.name} (${c.hosts.join(" ")})`),
      default: described.default,
    });
    for (const c of described.certificates.filter((c) => c.expired)) {
      this.log.warn("TLS certificate has expired", { name: c.name, validTo: c.validTo });
    }
  }
}
