// @ts-check
// One deploy, live: its steps as a timeline (each bar placed at its start, as long as it took,
// the running one growing), and its log: the recorded events, then build and release output and
// step lines as they stream in.
import { get } from "./api.js";
import { duration, h, replace } from "./dom.js";

const LOG_MAX_CHARS = 200_000;

export class DeployView {
  constructor() {
    /** @type {any} */
    this.deploy = null;
    this.head = h("div", { class: "deploy-head" });
    this.timeline = h("ol", { class: "timeline", "data-testid": "timeline" });
    this.log = h("pre", { class: "log", "data-testid": "log" });
    this.el = h("section", { class: "card deploy" }, this.head, this.timeline, h("h3", {}, "Log"), this.log);
    this.refreshTimer = 0;
    // The running step's bar grows with the clock, between the server's updates.
    this.tick = window.setInterval(() => this.renderTimeline(), 500);
  }

  destroy() {
    window.clearInterval(this.tick);
    window.clearTimeout(this.refreshTimer);
  }

  /** Show deploy `id`: its record and steps, and its log so far. @param {number} id */
  async show(id) {
    this.id = id;
    const [deploy, { events }] = await Promise.all([get(`/v1/deploys/${id}`), get(`/v1/deploys/${id}/events`)]);
    if (this.id !== id) return;
    this.deploy = deploy;
    this.log.textContent = "";
    for (const e of events) this.appendLine(e);
    this.render();
  }

  /** A live deploy event; refetches the steps (at most every 200 ms) when one changed. @param {any} event */
  onEvent(event) {
    if (event.deployId !== this.id) return;
    if (event.kind === "deploy.output") {
      this.append(event.message);
      return;
    }
    this.appendLine(event);
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(async () => {
      const id = this.id;
      const deploy = await get(`/v1/deploys/${id}`).catch(() => null);
      if (deploy !== null && this.id === id) {
        this.deploy = deploy;
        this.render();
      }
    }, 200);
  }

  /** @param {any} event */
  appendLine(event) {
    const time = new Date(event.time).toLocaleTimeString([], { hour12: false });
    this.append(`${time} ${event.kind.replace(/^deploy\./, "")}: ${event.message}\n`);
  }

  /** @param {string} text */
  append(text) {
    const stick = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.append(text);
    if ((this.log.textContent ?? "").length > LOG_MAX_CHARS)
      this.log.textContent = (this.log.textContent ?? "").slice(-LOG_MAX_CHARS / 2);
    if (stick) this.log.scrollTop = this.log.scrollHeight;
  }

  render() {
    const d = this.deploy;
    if (d === null) return;
    const version = d.version === null ? "" : ` v${d.version}`;
    const from = d.fromVersion === null ? "" : ` (from v${d.fromVersion})`;
    replace(
      this.head,
      h(
        "h2",
        {},
        `${d.kind === "deploy" ? "Deploy" : d.kind === "rollback" ? "Rollback" : "Config change"} ${d.id}${version}${from}`,
      ),
      h("span", { class: `status s-${d.status}`, "data-testid": "deploy-status" }, d.status.replace("_", " ")),
      d.error ? h("p", { class: "bad" }, `${d.error.code}: ${d.error.message}`) : null,
    );
    this.renderTimeline();
  }

  renderTimeline() {
    const d = this.deploy;
    if (d === null || !Array.isArray(d.steps)) return;
    const start = d.startedAt ?? d.createdAt;
    const end = d.finishedAt ?? Date.now();
    const total = Math.max(1, end - start);
    const rows = d.steps.map((/** @type {any} */ s) => {
      const ms = s.finishedAt === null ? Date.now() - s.startedAt : s.durationMs;
      const bar = h("span", { class: "bar" });
      bar.style.marginLeft = `${(100 * Math.max(0, s.startedAt - start)) / total}%`;
      bar.style.width = `${Math.max(0.6, (100 * ms) / total)}%`;
      return h(
        "li",
        {
          class: `step is-${s.finishedAt === null ? "running" : s.status}`,
          "data-step": s.name,
          "data-status": s.finishedAt === null ? "running" : s.status,
        },
        h("span", { class: "name" }, s.name),
        h("span", { class: "track" }, bar),
        h("span", { class: "ms" }, s.status === "skipped" ? "skipped" : duration(ms)),
        stepDetail(s),
      );
    });
    replace(
      this.timeline,
      ...rows,
      h(
        "li",
        { class: "step total" },
        h("span", { class: "name" }, "total"),
        h("span", { class: "track" }),
        h("span", { class: "ms" }, duration(end - start)),
      ),
    );
  }
}

/** What a strategy step measured: the canary's shares, a rolling deploy's batches, the bake's verdict. @param {any} s */
function stepDetail(s) {
  const details = s.details ?? {};
  if (Array.isArray(details.steps))
    return h(
      "span",
      { class: "detail" },
      details.steps.map((/** @type {any} */ c) => `${c.weight}% → served ${c.share ?? "–"}%`).join(" · "),
    );
  if (Array.isArray(details.batches))
    return h(
      "span",
      { class: "detail" },
      details.batches
        .map(
          (/** @type {any} */ b) => `${b.weight}%${b.share === null || b.share === undefined ? "" : ` (${b.share}%)`}`,
        )
        .join(" · "),
    );
  if (typeof details.verdict === "string") return h("span", { class: "detail" }, `verdict: ${details.verdict}`);
  return null;
}
