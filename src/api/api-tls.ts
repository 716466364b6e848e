import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { BatonError } from "../core/errors.js";

/** The certificate and key of the server's TCP API, read and checked before anything starts. */
export interface ApiTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * `--api-cert` and `--api-key` as PEM files. The TCP API exists for CLIs on other machines and
 * carries the token in every request, so it is TLS or nothing: a missing or unusable pair stops
 * the server at start, naming the file, instead of serving in clear.
 */
export function loadApiTls(certFile: string | undefined, keyFile: string | undefined): ApiTls {
  if (certFile === undefined || keyFile === undefined) {
    throw new BatonError("BATON_USAGE", "--api-port needs --api-cert and --api-key: the TCP API speaks TLS only", {
      hint: "baton server --api-port 8443 --api-cert server.crt --api-key server.key",
    });
  }
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new BatonError("BATON_CONFIG_INVALID", `cannot read the API's ${what} ${file}`, { cause: error });
    }
  };
  const tls = { cert: read(certFile, "certificate"), key: read(keyFile, "key") };
  try {
    createSecureContext(tls);
  } catch (error) {
    throw new BatonError(
      "BATON_CONFIG_INVALID",
      `the API's certificate ${certFile} and key ${keyFile} are not a usable PEM pair: ${(error as Error).message}`,
      { cause: error, hint: "both files must be PEM, and the key must be the certificate's" },
    );
  }
  return tls;
}
