import { BatonError } from "../core/errors.js";
import type { RolloutHost } from "./rollout.js";
import type { WatchResult } from "./watch.js";

/**
 * The error that ends a deploy whose new Release was taken out of traffic: BATON_ROLLED_BACK with
 * the judge's numbers when baton decided, BATON_DEPLOY_ABORTED when a person asked.
 */
export function judgeFailure(host: RolloutHost, result: WatchResult, extra: Record<string, unknown>): BatonError {
  const candidate = host.staged.version;
  const evidence = { ...result.verdict.evidence, served: result.served, watchedMs: result.ms, ...extra };
  if (result.ended === "abort") {
    const request = result.request;
    const by = request?.by ?? "a person";
    const reason = request?.kind === "abort" ? request.reason : "aborted";
    return new BatonError("BATON_DEPLOY_ABORTED", `${by} aborted the deploy of v${candidate}: ${reason}`, {
      details: { by, reason, evidence },
      hint: `v${candidate} is out of traffic; ${host.oldRelease} serves`,
    });
  }
  return new BatonError(
    "BATON_ROLLED_BACK",
    `v${candidate} did worse than ${host.oldRelease}: ${result.verdict.reasons.join("; ")}`,
    {
      details: { evidence },
      hint: `traffic went back to ${host.oldRelease}; \`baton logs --app ${host.staged.app}\` shows what v${candidate} did`,
    },
  );
}
