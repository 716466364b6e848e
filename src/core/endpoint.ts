import { readFileSync } from "node:fs";
import { type ClientRequest, request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { BatonError } from "./errors.js";

/**
 * Where an API answers: a unix socket on this host (the default: the file system's permissions
 * are the first lock), or an https address, for a CLI on another machine. Never plain TCP: the
 * token travels in every request.
 */
export type Endpoint = { readonly socketPath: string } | { readonly url: URL; readonly ca: Buffer | undefined };

export function describeEndpoint(endpoint: Endpoint): string {
  return "socketPath" in endpoint ? endpoint.socketPath : endpoint.url.origin;
}

/** An https endpoint from its URL and, for a certificate no public CA signed, the CA file to trust. */
export function httpsEndpoint(address: string, caFile: string | undefined): Endpoint {
  let url: URL;
  try {
    url = new URL(address);
  } catch (error) {
    throw new BatonError("BATON_USAGE", `BATON_SERVER is not a URL: ${JSON.stringify(address)}`, {
      cause: error,
      hint: "BATON_SERVER=https://HOST:PORT (the server's --api-port)",
    });
  }
  if (url.protocol !== "https:") {
    throw new BatonError("BATON_USAGE", `BATON_SERVER must be an https:// URL (got ${url.protocol}//)`, {
      hint: "the server's TCP API speaks TLS only, so the token never crosses a network in clear",
    });
  }
  let ca: Buffer | undefined;
  if (caFile !== undefined && caFile !== "") {
    try {
      ca = readFileSync(caFile);
    } catch (error) {
      throw new BatonError("BATON_USAGE", `cannot read BATON_CA file ${caFile}`, { cause: error });
    }
  }
  return { url, ca };
}

/** Start a request to the endpoint (the caller ends it). */
export function openRequest(
  endpoint: Endpoint,
  options: RequestOptions,
  onResponse: (res: IncomingMessage) => void,
): ClientRequest {
  if ("socketPath" in endpoint) return httpRequest({ ...options, socketPath: endpoint.socketPath }, onResponse);
  const { url, ca } = endpoint;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return httpsRequest(
    {
      ...options,
      host,
      port: url.port === "" ? 443 : Number(url.port),
      minVersion: "TLSv1.2",
      ...(ca === undefined ? {} : { ca }),
      // SNI carries names only; an address is checked against the certificate's IP entries.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      agent: false,
    },
    onResponse,
  );
}
