import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import { BatonError } from "../core/errors.js";

/** Oldest protocol a client may speak: TLS 1.0 and 1.1 are deprecated (RFC 8996). */
export const TLS_MIN_VERSION = "TLSv1.2";
/** The name of the pair served when no certificate covers the name a client asked for. */
export const DEFAULT_PAIR = "default";

/** One certificate and its key, as files in the TLS directory. */
export interface CertPair {
  /** `NAME` of NAME.crt/NAME.key, or of the directory NAME/ (certbot's live/NAME/). */
  name: string;
  certFile: string;
  keyFile: string;
}

export interface LoadedCertificate extends CertPair {
  /** The host names it covers (subjectAltName DNS entries, else its subject CN). */
  hosts: string[];
  validTo: string;
  expired: boolean;
}

/**
 * The certificates of a TLS directory, each as a secure context created once, indexed by the
 * host names it covers. A handshake looks its SNI name up here (exact name, then the wildcard
 * one label up), else gets the default pair.
 */
export class CertificateSet {
  private readonly exact = new Map<string, SecureContext>();
  /** "example.com" for a certificate of "*.example.com". */
  private readonly wildcard = new Map<string, SecureContext>();
  /** Which certificate won a name, by expiry: the later one (a renewal beside the old one). */
  private readonly expiry = new Map<string, number>();

  private constructor(
    readonly certificates: readonly LoadedCertificate[],
    /** The default pair's files and context, when the directory has one. */
    readonly fallback: { pair: { cert: Buffer; key: Buffer }; context: SecureContext } | undefined,
  ) {}

  /** Read every pair in `dir`; any unusable file fails the whole load, naming the file. */
  static load(dir: string): CertificateSet {
    const pairs = findPairs(dir);
    if (pairs.length === 0) {
      throw invalid(
        dir,
        `no certificate in ${dir}: put NAME.crt with NAME.key (PEM) there, or NAME/fullchain.pem with NAME/privkey.pem`,
      );
    }
    const loaded: Array<{ cert: LoadedCertificate; context: SecureContext; pem: { cert: Buffer; key: Buffer } }> = [];
    for (const pair of pairs) {
      const pem = { cert: readPem(pair.certFile), key: readPem(pair.keyFile) };
      let context: SecureContext;
      let x509: X509Certificate;
      try {
        x509 = new X509Certificate(pem.cert);
      } catch (error) {
        throw invalid(pair.certFile, `${pair.certFile}: not a PEM certificate (${(error as Error).message})`);
      }
      try {
        context = createSecureContext({ cert: pem.cert, key: pem.key, minVersion: TLS_MIN_VERSION });
      } catch (error) {
        throw invalid(
          pair.keyFile,
          `${pair.keyFile}: unusable with ${pair.certFile} (${(error as Error).message}); is it the certificate's own key, in PEM?`,
        );
      }
      const hosts = hostsOf(x509);
      if (hosts.length === 0 && pair.name !== DEFAULT_PAIR) {
        throw invalid(pair.certFile, `${pair.certFile}: the certificate names no host (no DNS subjectAltName, no CN)`);
      }
      const validTo = new Date(x509.validTo);
      loaded.push({
        cert: { ...pair, hosts, validTo: validTo.toISOString(), expired: validTo.getTime() < Date.now() },
        context,
        pem,
      });
    }
    const fallback = loaded.find((l) => l.cert.name === DEFAULT_PAIR);
    const set = new CertificateSet(
      loaded.map((l) => l.cert),
      fallback === undefined ? undefined : { pair: fallback.pem, context: fallback.context },
    );
    for (const { cert, context } of loaded) set.index(cert, context);
    return set;
  }

  private index(cert: LoadedCertificate, context: SecureContext): void {
    const expires = Date.parse(cert.validTo);
    for (const host of cert.hosts) {
      if ((this.expiry.get(host) ?? -Infinity) > expires) continue;
      this.expiry.set(host, expires);
      if (host.startsWith("*.")) this.wildcard.set(host.slice(2), context);
      else this.exact.set(host, context);
    }
  }

  /** The context for an SNI name: exact, then wildcard (one label), then the default pair. */
  contextFor(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf(".");
    if (dot > 0) {
      const wild = this.wildcard.get(name.slice(dot + 1));
      if (wild !== undefined) return wild;
    }
    return this.fallback?.context;
  }

  /** What was loaded, for logs and the reload answer. */
  describe(): {
    certificates: Array<{ name: string; hosts: string[]; validTo: string; expired: boolean }>;
    default: boolean;
  } {
    return {
      certificates: this.certificates.map(({ name, hosts, validTo, expired }) => ({ name, hosts, validTo, expired })),
      default: this.fallback !== undefined,
    };
  }
}

/**
 * Pairs in `dir`: NAME.crt + NAME.key, or a directory NAME/ with fullchain.pem + privkey.pem (the
 * layout of certbot's /etc/letsencrypt/live, symlinks followed). Other files are ignored.
 */
function findPairs(dir: string): CertPair[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    entries = readdirSync(dir).sort();
  } catch (error) {
    throw invalid(dir, `TLS directory ${dir} cannot be read: ${(error as Error).message}`);
  }
  const pairs: CertPair[] = [];
  for (const entry of entries) {
    const path = join(dir, entry);
    if (entry.endsWith(".crt") || entry.endsWith(".key")) {
      const name = entry.slice(0, -4);
      const certFile = join(dir, `${name}.crt`);
      const keyFile = join(dir, `${name}.key`);
      if (!existsSync(certFile)) throw invalid(keyFile, `${keyFile} has no ${name}.crt beside it`);
      if (!existsSync(keyFile)) throw invalid(certFile, `${certFile} has no ${name}.key beside it`);
      if (entry.endsWith(".crt")) pairs.push({ name, certFile, keyFile });
      continue;
    }
    const certFile = join(path, "fullchain.pem");
    const keyFile = join(path, "privkey.pem");
    if (isDirectory(path) && existsSync(certFile)) {
      if (!existsSync(keyFile)) throw invalid(certFile, `${certFile} has no privkey.pem beside it`);
      pairs.push({ name: entry, certFile, keyFile });
    }
  }
  return pairs;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readPem(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw invalid(file, `${file} cannot be read: ${(error as Error).message}`);
  }
}

function hostsOf(cert: X509Certificate): string[] {
  const hosts = new Set<string>();
  for (const part of (cert.subjectAltName ?? "").split(",")) {
    const entry = part.trim();
    if (entry.startsWith("DNS:")) hosts.add(entry.slice(4).toLowerCase());
  }
  if (hosts.size === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    if (cn !== undefined) hosts.add(cn.trim().toLowerCase());
  }
  return [...hosts];
}

function invalid(file: string, message: string): BatonError {
  return new BatonError("BATON_TLS_CERT_INVALID", message, {
    details: { file },
    hint: "fix or remove the file named, then start the router again or reload (baton tls:reload, or SIGHUP)",
  });
}
