import { createHmac, randomUUID } from "node:crypto";
import type { Logger } from "../core/log.js";
import type { EventRecord } from "../store/store.js";
import type { EventLog } from "./events.js";

/** Where an app's deploy events go, and how they are signed. */
export interface WebhookSpec {
  id: number;
  app: string;
  url: string;
  /** HMAC-SHA256 key for the X-Baton-Signature header. */
  secret: string;
  /** "json": baton's own payload; "slack": `{ "text": ... }`, which Slack's incoming webhooks take. */
  format: "json" | "slack";
}

/** The deploy events a webhook hears (instance noise and step output are left out). */
export const WEBHOOK_EVENTS: ReadonlySet<string> = new Set([
  "deploy.queued",
  "deploy.started",
  "deploy.step.finished",
  "deploy.succeeded",
  "deploy.failed",
  "deploy.rolled_back",
  "deploy.superseded",
  "deploy.cancelled",
]);

export interface DispatcherOptions {
  /** Attempts per delivery, the first included. */
  maxAttempts: number;
  /** Wait before the second attempt; doubled for each next one, with jitter. */
  firstRetryMs: number;
  /** Per attempt: connect, send and the answer's status. */
  timeoutMs: number;
}

const DEFAULTS: DispatcherOptions = { maxAttempts: 6, firstRetryMs: 1_000, timeoutMs: 10_000 };

/**
 * Sends each deploy event to the app's webhooks, signed, and retried with backoff when the
 * receiver is down or answers 5xx/429 (a 4xx other than 429 is the receiver refusing: no retry).
 * Every outcome lands in the event log as `webhook.delivered` or `webhook.failed` (the delivery
 * log), which webhooks themselves never hear. Deliveries run beside the deploy and never slow it.
 */
export class WebhookDispatcher {
  private readonly options: DispatcherOptions;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly events: EventLog,
    private readonly webhooksOf: (app: string) => WebhookSpec[],
    private readonly log: Logger,
    options: Partial<DispatcherOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  start(): void {
    this.unsubscribe ??= this.events.subscribe((event) => this.onEvent(event));
  }

  /** Stop listening; pending retries are dropped, attempts in flight aborted. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inFlight) controller.abort();
  }

  private onEvent(event: EventRecord): void {
    if (!WEBHOOK_EVENTS.has(event.kind)) return;
    for (const hook of this.webhooksOf(event.app)) {
      const delivery = randomUUID();
      const body = JSON.stringify(hook.format === "slack" ? slackPayload(event) : jsonPayload(event, delivery));
      void this.attempt(hook, event, delivery, body, 1);
    }
  }

  private async attempt(hook: WebhookSpec, event: EventRecord, delivery: string, body: string, n: number) {
    if (this.stopped) return;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    let status = 0;
    let problem = "";
    try {
      const response = await fetch(hook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "baton-webhook",
          "x-baton-event": event.kind,
          "x-baton-delivery": delivery,
          "x-baton-timestamp": timestamp,
          // Signed with the timestamp, so a captured delivery cannot be replayed later as new.
          "x-baton-signature": `sha256=${sign(hook.secret, timestamp, body)}`,
        },
        body,
        signal: controller.signal,
        redirect: "manual",
      });
      status = response.status;
      await response.body?.cancel().catch(() => undefined);
    } catch (error) {
      problem = controller.signal.aborted ? `no answer within ${this.options.timeoutMs} ms` : (error as Error).message;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    const facts = { webhook: hook.id, url: redact(hook.url), event: event.kind, eventId: event.id, delivery };
    if (status >= 200 && status < 300) {
      this.record(event, "webhook.delivered", `${event.kind} delivered to webhook ${hook.id} (HTTP ${status})`, {
        ...facts,
        status,
        attempts: n,
      });
      return;
    }
    const why = status === 0 ? problem : `HTTP ${status}`;
    const retryable = status === 0 || status >= 500 || status === 429;
    if (retryable && n < this.options.maxAttempts && !this.stopped) {
      const wait = this.options.firstRetryMs * 2 ** (n - 1) * (0.75 + Math.random() / 2);
      const retry = setTimeout(() => {
        this.timers.delete(retry);
        void this.attempt(hook, event, delivery, body, n + 1);
      }, wait);
      retry.unref();
      this.timers.add(retry);
      return;
    }
    this.record(event, "webhook.failed", `${event.kind} to webhook ${hook.id} failed after ${n} attempt(s): ${why}`, {
      ...facts,
      status,
      attempts: n,
      error: why,
    });
    this.log.warn("webhook delivery failed", { ...facts, attempts: n, error: why });
  }

  private record(event: EventRecord, kind: string, message: string, data: Record<string, unknown>): void {
    if (this.stopped) return;
    this.events.emit(event.app, event.deployId, kind, message, data);
  }
}

/** Hex HMAC-SHA256 of `timestamp.body`: what a receiver recomputes to trust a delivery. */
export function sign(secret: string, timestamp: string, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

function jsonPayload(event: EventRecord, delivery: string): Record<string, unknown> {
  return {
    delivery,
    event: event.kind,
    app: event.app,
    deploy: event.deployId,
    time: new Date(event.time).toISOString(),
    message: event.message,
    data: event.data,
  };
}

function slackPayload(event: EventRecord): { text: string } {
  const icon =
    event.kind === "deploy.succeeded"
      ? ":white_check_mark:"
      : event.kind === "deploy.failed" || event.kind === "deploy.rolled_back"
        ? ":x:"
        : ":arrow_forward:";
  const deploy = event.deployId === null ? "" : ` (deploy ${event.deployId})`;
  return { text: `${icon} *${event.app}*${deploy}: ${event.message}` };
}

/** A URL as shown in the delivery log: credentials and query (often a token) hidden. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search === "" ? "" : "?…"}`;
  } catch {
    return "(invalid URL)";
  }
}
