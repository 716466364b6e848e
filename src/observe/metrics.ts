import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { EventLog } from "../deploy/events.js";
import type { AppStatsSnapshot } from "../router/stats.js";
import { LATENCY_BUCKETS_MS } from "../router/stats.js";
import type { EventRecord, Store } from "../store/store.js";
import { ScrapedMetric } from "./scraped-metric.js";
import type { TrafficSource } from "./traffic.js";

/**
 * The router's latency buckets at every doubling (0.25 ms ... 65.5 s, then +Inf), in seconds. A
 * subset of the router's own bounds, so each cumulative count is exact, with 20 series per
 * Release instead of 74.
 */
const EXPORTED_BUCKETS: ReadonlyArray<{ index: number; seconds: number }> = LATENCY_BUCKETS_MS.flatMap((ms, index) =>
  ms === Infinity || index % 4 === 0 ? [{ index, seconds: ms === Infinity ? Infinity : ms / 1000 } as const] : [],
);

const DEPLOY_END = new Set([
  "deploy.succeeded",
  "deploy.failed",
  "deploy.rolled_back",
  "deploy.cancelled",
  "deploy.superseded",
]);

const NAN_SAMPLE = / Nan$/gm;

/**
 * `/metrics` in Prometheus' text format (prom-client's registry): the router's per-app and
 * per-Release counts, read from the router at each scrape (it keeps them; nothing is lost between
 * scrapes), and the control plane's own: deploys, step durations, instance crashes and restarts,
 * counted here from the deploy events as they happen, plus the queue and instances from the store.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly router: ReturnType<typeof routerMetrics>;
  private readonly deploys: Counter<"app" | "kind" | "status">;
  private readonly deployDuration: Histogram<"app" | "kind" | "status">;
  private readonly stepDuration: Histogram<"app" | "step" | "status">;
  private readonly restarts: Counter<"app">;
  private readonly crashes: Counter<"app">;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: TrafficSource,
    private readonly store: Store,
    events: EventLog,
  ) {
    const registers = [this.registry];
    this.router = routerMetrics(this.registry);
    this.deploys = new Counter({
      name: "baton_deploys_total",
      help: "Finished deploys (deploys, rollbacks, config changes) by outcome.",
      labelNames: ["app", "kind", "status"],
      registers,
    });
    this.deployDuration = new Histogram({
      name: "baton_deploy_duration_seconds",
      help: "Time from a deploy's start to its end (queued time excluded).",
      labelNames: ["app", "kind", "status"],
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.stepDuration = new Histogram({
      name: "baton_deploy_step_duration_seconds",
      help: "Time each deploy step took (stage, build, boot, canary, bake, ...), by outcome.",
      labelNames: ["app", "step", "status"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.restarts = new Counter({
      name: "baton_instance_restarts_total",
      help: "Instances of a live release restarted after they crashed.",
      labelNames: ["app"],
      registers,
    });
    this.crashes = new Counter({
      name: "baton_instance_crashes_total",
      help: "Instances that exited without being asked to.",
      labelNames: ["app"],
      registers,
    });
    const { store: s } = this;
    new Gauge({
      name: "baton_deploy_queue_length",
      help: "Deploys waiting for the app's running deploy to end.",
      labelNames: ["app"],
      registers,
      collect() {
        this.reset();
        for (const app of s.listApps())
          this.set({ app: app.name }, s.listDeploys({ app: app.name, statuses: ["queued"] }).length);
      },
    });
    new Gauge({
      name: "baton_deploys_running",
      help: "1 while a deploy of the app runs.",
      labelNames: ["app"],
      registers,
      collect() {
        this.reset();
        for (const app of s.listApps())
          this.set({ app: app.name }, s.listDeploys({ app: app.name, statuses: ["running"] }).length);
      },
    });
    new Gauge({
      name: "baton_app_release_version",
      help: "The version number of the app's live Release (absent before its first deploy).",
      labelNames: ["app"],
      registers,
      collect() {
        this.reset();
        for (const app of s.listApps())
          if (app.currentVersion !== null) this.set({ app: app.name }, app.currentVersion);
      },
    });
    new Gauge({
      name: "baton_instances",
      help: "Instances the control plane runs, by app, process type and state.",
      labelNames: ["app", "type", "state"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, { app: string; type: string; state: string; n: number }>();
        for (const i of s.listInstances()) {
          const key = `${i.app}\0${i.type}\0${i.state}`;
          const entry = counts.get(key) ?? { app: i.app, type: i.type, state: i.state, n: 0 };
          entry.n++;
          counts.set(key, entry);
        }
        for (const { n, ...labels } of counts.values()) this.set(labels, n);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "baton_server_" });
    this.unsubscribe = events.subscribe((event) => this.onEvent(event));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole exposition, with the router's counts read now. */
  async text(): Promise<string> {
    await this.readRouter();
    // prom-client 15 writes a NaN sample (the event-loop lag before its first measurement, in a
    // server scraped right after it started) as "Nan"; the text format and OpenMetrics spell it NaN.
    return (await this.registry.metrics()).replace(NAN_SAMPLE, " NaN");
  }

  close(): void {
    this.unsubscribe();
  }

  private onEvent(event: EventRecord): void {
    if (event.kind === "deploy.step.finished") {
      const { step, status, ms } = event.data as { step?: unknown; status?: unknown; ms?: unknown };
      if (typeof step === "string" && typeof status === "string" && typeof ms === "number")
        this.stepDuration.observe({ app: event.app, step, status }, ms / 1000);
    } else if (DEPLOY_END.has(event.kind) && event.deployId !== null) {
      const deploy = this.store.getDeploy(event.deployId);
      if (deploy === undefined) return;
      const labels = { app: deploy.app, kind: deploy.kind, status: deploy.status };
      this.deploys.inc(labels);
      if (deploy.startedAt !== null && deploy.finishedAt !== null)
        this.deployDuration.observe(labels, (deploy.finishedAt - deploy.startedAt) / 1000);
    } else if (event.kind === "instance.restarted") this.restarts.inc({ app: event.app });
    else if (event.kind === "instance.crashed") this.crashes.inc({ app: event.app });
  }

  private async readRouter(): Promise<void> {
    for (const metric of Object.values(this.router)) metric.reset();
    const r = this.router;
    let apps: AppStatsSnapshot[];
    let table: Awaited<ReturnType<TrafficSource["read"]>>["table"];
    try {
      ({
        stats: { apps },
        table,
      } = await this.source.read());
    } catch {
      r.up.set({}, 0);
      return;
    }
    r.up.set({}, 1);
    for (const a of apps) {
      const app = { app: a.app };
      r.held.set(app, a.held);
      r.heldNow.set(app, a.heldNow);
      r.holdTimeouts.set(app, a.holdTimeouts);
      r.queued.set(app, a.queued ?? 0);
      r.notRouted.set(app, a.notRouted);
      for (const rel of a.releases) {
        const labels = { app: a.app, release: rel.release };
        for (const [cls, n] of Object.entries(rel.statusClasses)) r.requests.set({ ...labels, class: cls }, n);
        r.inFlight.set(labels, rel.inFlight);
        r.retries.set(labels, rel.retries);
        for (const [kind, n] of Object.entries(rel.errors)) r.upstreamErrors.set({ ...labels, kind }, n);
        const cumulative: number[] = [];
        let seen = 0;
        let next = 0;
        rel.latency.counts.forEach((count, i) => {
          seen += count;
          if (EXPORTED_BUCKETS[next]?.index === i) {
            cumulative.push(seen);
            next++;
          }
        });
        r.duration.setHistogram(
          labels,
          EXPORTED_BUCKETS.map((b) => b.seconds),
          cumulative,
          rel.latency.sumMs / 1000,
        );
      }
    }
    for (const route of table.apps) {
      if (route.canary !== null)
        r.canaryWeight.set({ app: route.name, release: route.canary.pool.release }, route.canary.weight / 100);
    }
  }
}

/** The router's counts as metrics; their values are copied in from the router at each scrape. */
function routerMetrics(registry: Registry) {
  const m = (name: string, help: string, type: "counter" | "gauge" | "histogram") =>
    new ScrapedMetric(registry, name, help, type);
  return {
    up: m("baton_router_up", "1 when the router answered this scrape's read of its counts, else 0.", "gauge"),
    requests: m(
      "baton_router_requests_total",
      "Responses the router sent per app and Release, by status class (1xx ... 5xx).",
      "counter",
    ),
    duration: m(
      "baton_router_request_duration_seconds",
      "Time from a request's arrival at the router to its last response byte, per app and Release.",
      "histogram",
    ),
    inFlight: m("baton_router_requests_in_flight", "Requests on an instance right now, per app and Release.", "gauge"),
    retries: m(
      "baton_router_retries_total",
      "Requests sent again to another Target (never reached one, or an idempotent reset).",
      "counter",
    ),
    upstreamErrors: m(
      "baton_router_upstream_errors_total",
      "Failures talking to an instance, by kind (connect, reset, timeout).",
      "counter",
    ),
    held: m(
      "baton_router_held_requests_total",
      "Requests that waited for a ready instance (held, not failed).",
      "counter",
    ),
    heldNow: m("baton_router_held_requests", "Requests waiting for a ready instance right now.", "gauge"),
    holdTimeouts: m(
      "baton_router_hold_timeouts_total",
      "Held requests answered 503 because no instance became ready in time.",
      "counter",
    ),
    queued: m(
      "baton_router_queued_requests_total",
      "Requests that waited for a free slot under the app's per-instance request limit.",
      "counter",
    ),
    notRouted: m(
      "baton_router_not_routed_total",
      "Requests the router answered itself (maintenance, hold timeout or a full hold queue).",
      "counter",
    ),
    canaryWeight: m(
      "baton_router_canary_weight_ratio",
      "Share of new clients (0-1) sent to the app's canary Release during a canary or rolling deploy.",
      "gauge",
    ),
  };
}
