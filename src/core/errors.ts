/**
 * The one catalog of baton's error codes. Every failure a person can meet carries one of these
 * codes, a reason and the next step. docs/errors.md lists the same codes; a test keeps them in step.
 */
export const ERROR_CATALOG = {
  BATON_USAGE: { status: 400, summary: "The command line or request was not understood." },
  BATON_TIMEOUT: { status: 504, summary: "A wait took longer than its timeout." },
  BATON_ABORTED: { status: 499, summary: "The operation was cancelled by its caller." },
  BATON_STATE_CORRUPT: { status: 500, summary: "A state file on disk could not be read." },
  BATON_CONFIG_INVALID: { status: 400, summary: "Options failed validation; every problem is listed." },
  BATON_NOT_FOUND: { status: 404, summary: "The app, release, deploy, step or instance named does not exist." },
  BATON_ROUTER_NO_APP: { status: 404, summary: "No app is routed for this Host header." },
  BATON_ROUTER_MAINTENANCE: { status: 503, summary: "The app is in maintenance mode." },
  BATON_ROUTER_HOLD_TIMEOUT: {
    status: 503,
    summary: "No instance of the app became ready within the hold timeout.",
  },
  BATON_ROUTER_HOLD_FULL: { status: 503, summary: "Too many requests are already held for the app." },
  BATON_ROUTER_QUEUE_TIMEOUT: {
    status: 503,
    summary: "Every instance of the app stayed at its request limit for the whole hold timeout.",
  },
  BATON_ROUTER_UPSTREAM_CONNECT: { status: 502, summary: "No instance of the app accepted a connection." },
  BATON_ROUTER_UPSTREAM_RESET: {
    status: 502,
    summary: "The instance closed the connection before it answered.",
  },
  BATON_ROUTER_UPSTREAM_TIMEOUT: {
    status: 504,
    summary: "The instance did not send response headers in time.",
  },
  BATON_ROUTER_BAD_REQUEST: { status: 400, summary: "The request was malformed and was not forwarded." },
  BATON_ROUTER_HEADERS_TOO_LARGE: { status: 431, summary: "The request headers were too large." },
  BATON_ROUTER_CLIENT_TIMEOUT: {
    status: 408,
    summary: "The client did not send its request headers or body in time.",
  },
  BATON_TLS_CERT_INVALID: {
    status: 400,
    summary: "A certificate or key in the TLS directory cannot be used.",
  },
  BATON_ROUTER_UNREACHABLE: { status: 503, summary: "The router's admin socket did not answer." },
  BATON_PORT_UNAVAILABLE: {
    status: 409,
    summary: "A port baton was told to listen on is taken by another process or not allowed.",
  },
  BATON_ADMIN_NOT_FOUND: { status: 404, summary: "The app or pool named in the admin request does not exist." },
  BATON_ADMIN_CONFLICT: { status: 409, summary: "The admin request conflicts with the current routing state." },
  BATON_UNAUTHORIZED: { status: 401, summary: "The API request had no token or a wrong one." },
  BATON_FORBIDDEN: {
    status: 403,
    summary: "A change sent to the dashboard's API did not come from the dashboard's own page.",
  },
  BATON_SERVER_UNREACHABLE: { status: 503, summary: "The baton server did not answer on its API socket." },
  BATON_DEPLOY_FAILED: { status: 500, summary: "A deploy step failed for a reason without a more precise code." },
  BATON_BUILD_FAILED: { status: 422, summary: "The build command exited with an error or timed out." },
  BATON_RELEASE_PHASE_FAILED: {
    status: 422,
    summary: "The Procfile release command failed or timed out; nothing else changed.",
  },
  BATON_BOOT_TIMEOUT: {
    status: 422,
    summary: "A new instance did not pass its readiness checks within the boot timeout.",
  },
  BATON_INSTANCE_CRASHED: { status: 422, summary: "A new instance exited during boot, warm-up or smoke requests." },
  BATON_SMOKE_FAILED: { status: 422, summary: "A smoke request to a new instance got an unexpected status." },
  BATON_DEPLOY_INTERRUPTED: {
    status: 503,
    summary: "The control plane stopped during a deploy, before traffic moved; the deploy was rolled back.",
  },
  BATON_HOOK_FAILED: { status: 422, summary: "A predeploy or postdeploy command failed or timed out." },
  BATON_MIGRATION_UNSAFE: {
    status: 422,
    summary: "A new migration would break the running release or lock a table; nothing ran.",
  },
  BATON_ROLLED_BACK: {
    status: 422,
    summary: "The new release did worse than the old one during the canary or bake; traffic went back to the old one.",
  },
  BATON_DEPLOY_ABORTED: {
    status: 409,
    summary:
      "A person aborted the deploy (deploy:abort or rollback) during its canary or bake; the old release serves.",
  },
  BATON_DEPLOY_CANCELLED: {
    status: 409,
    summary: "A person cancelled the deploy (deploy:cancel) while it was queued or before its switch; nothing changed.",
  },
  BATON_NO_ACTIVE_ROLLOUT: {
    status: 409,
    summary: "No deploy of the app is in a canary or bake step that this command could act on.",
  },
  BATON_APP_LOCKED: {
    status: 423,
    summary: "The app is locked (apps:lock): new deploys, rollbacks and config changes are refused.",
  },
  BATON_DEPLOY_IN_PROGRESS: {
    status: 409,
    summary: "A deploy of the app is queued or running, and this command only acts between deploys.",
  },
  BATON_GIT_FAILED: {
    status: 500,
    summary: "git could not create an app's repository or export a pushed commit.",
  },
  BATON_DEMO_FAILED: { status: 500, summary: "The demo could not finish; its output says which step failed." },
  BATON_DISK_FULL: {
    status: 507,
    summary: "The disk that holds baton's home (or a release being built) has no space left; nothing live changed.",
  },
  BATON_APPS_AS_ROOT: {
    status: 400,
    summary: "baton runs as root and was given no unprivileged user to run the apps as.",
  },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface BatonErrorOptions {
  cause?: unknown;
  /** Structured facts for machines (JSON output, the API); never secrets. */
  details?: Record<string, unknown>;
  /** The next thing the person should do. */
  hint?: string;
}

export class BatonError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: BatonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BatonError";
    this.code = code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  get status(): number {
    return ERROR_CATALOG[this.code].status;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(Object.keys(this.details).length === 0 ? {} : { details: this.details }),
    };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CATALOG, value);
}

/** Rebuild a BatonError from its JSON form (as the admin API sends it). */
export function errorFromJSON(body: unknown, fallbackMessage: string): BatonError {
  if (typeof body === "object" && body !== null) {
    const { code, message, hint, details } = body as Record<string, unknown>;
    if (isErrorCode(code)) {
      return new BatonError(code, typeof message === "string" ? message : fallbackMessage, {
        ...(typeof hint === "string" ? { hint } : {}),
        ...(typeof details === "object" && details !== null ? { details: details as Record<string, unknown> } : {}),
      });
    }
  }
  return new BatonError("BATON_USAGE", fallbackMessage);
}
