import type { IncomingMessage, ServerResponse } from "node:http";
import { BatonError } from "../core/errors.js";
import type { ControlPlane } from "../deploy/control-plane.js";
import {
  DEFAULT_ONE_OFF_TIMEOUT_S,
  MAX_ONE_OFF_TIMEOUT_S,
  type OneOffRequest,
  resolveOneOff,
  runOneOff,
} from "../deploy/one-off.js";
import type { EventRecord } from "../store/store.js";
import { STREAMED } from "./streamed.js";

type RunHandler = (ctx: {
  params: string[];
  body: Record<string, unknown>;
  req: IncomingMessage;
  res: ServerResponse;
}) => Promise<unknown>;

/**
 * `baton run` (docs/cli.md): POST /v1/apps/NAME/runs runs a one-off process and answers with
 * NDJSON lines, as a deploy does: `{"event": run.started}`, `{"event": run.output}` for each chunk
 * of stdout/stderr (live only, never stored), `{"event": run.finished}`, then `{"result": ...}`.
 * The one-off is stopped when the caller disconnects.
 */
export function runRoutes(
  plane: Pick<ControlPlane, "store" | "events" | "releaseEnv" | "appUser">,
): Array<[method: string, pattern: RegExp, handler: RunHandler]> {
  return [
    [
      "POST",
      /^\/v1\/apps\/([^/]+)\/runs$/,
      async ({ params: [name], body, res }) => {
        // Refused before the answer starts: unknown app or release, a bad request.
        const oneOff = resolveOneOff(plane, runRequest(name ?? "", body));
        res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-cache" });
        const send = (line: unknown): void => {
          if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify(line)}\n`);
        };
        const callerGone = new AbortController();
        res.once("close", () => {
          if (!res.writableFinished) callerGone.abort();
        });
        const { result, finished } = await runOneOff(plane, oneOff, {
          onStarted: (event) => send({ event }),
          onOutput: (chunk, stream) => send({ event: outputEvent(oneOff.app, chunk, stream) }),
          signal: callerGone.signal,
        });
        send({ event: finished });
        send({ result });
        res.end();
        return STREAMED;
      },
    ],
  ];
}

function outputEvent(app: string, chunk: string, stream: "stdout" | "stderr"): EventRecord {
  return { id: 0, app, deployId: null, time: Date.now(), kind: "run.output", message: chunk, data: { stream } };
}

function runRequest(app: string, body: Record<string, unknown>): OneOffRequest {
  const problems: string[] = [];
  const command = body.command;
  if (
    !Array.isArray(command) ||
    command.length === 0 ||
    !command.every((w) => typeof w === "string" && !w.includes("\0")) ||
    command[0] === ""
  )
    problems.push("command must be a non-empty list of words (strings), the first one not empty");
  const version = body.version;
  if (version !== undefined && !(Number.isInteger(version) && (version as number) >= 1))
    problems.push(`version must be a release number (1, 2, ...), got ${JSON.stringify(version)}`);
  const timeoutS = body.timeoutS ?? DEFAULT_ONE_OFF_TIMEOUT_S;
  if (!(typeof timeoutS === "number" && timeoutS >= 1 && timeoutS <= MAX_ONE_OFF_TIMEOUT_S))
    problems.push(
      `timeoutS must be a number of seconds from 1 to ${MAX_ONE_OFF_TIMEOUT_S}, got ${JSON.stringify(timeoutS)}`,
    );
  if (problems.length > 0) throw new BatonError("BATON_USAGE", problems.join("; "));
  const by = typeof body.by === "string" && body.by.trim() !== "" ? body.by.trim().slice(0, 200) : "api";
  return {
    app,
    command: command as string[],
    timeoutS: timeoutS as number,
    by,
    ...(version === undefined ? {} : { version: version as number }),
  };
}
