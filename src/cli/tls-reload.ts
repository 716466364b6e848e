import { resolveHome } from "../core/home.js";
import type { TlsDescription } from "../router/ops.js";
import { parse } from "./args.js";
import { client, printJson, say } from "./common.js";

export const summary = "reload the router's TLS certificates (after a renewal), without a restart";

export const usage = `baton tls:reload [--home DIR] [--json]

Makes the router read its --tls-dir again: new HTTPS connections get the new certificates, open
connections keep the ones they began with, nothing is refused. If a file cannot be used the
router keeps the certificates it had and this command fails with BATON_TLS_CERT_INVALID, naming
the file. Sending the router process SIGHUP does the same (for a certbot deploy hook).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { home: { type: "string" }, json: { type: "boolean" } });
  const api = client(resolveHome(values.home));
  const result = await api.post<TlsDescription>("/v1/router/tls/reload", {}, 30_000);
  if (values.json) printJson(result);
  else {
    for (const c of result.certificates)
      say(`${c.name}: ${c.hosts.join(", ") || "(no host names)"} until ${c.validTo}${c.expired ? " (EXPIRED)" : ""}`);
    say(`${result.certificates.length} certificates loaded${result.default ? ", with a default pair" : ""}`);
  }
  return 0;
}
