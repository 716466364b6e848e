// @ts-check
// baton's dashboard: the apps, and for one app its live traffic, the deploy in progress (or the
// one picked), the last hour's charts, its releases with rollback, its instances and deploys.
// Everything live arrives over /events; everything else is the server's API under /api.
import { ApiError, get, live, post } from "./api.js";
import { lineChart } from "./charts.js";
import { DeployView } from "./deploy-view.js";
import { ago, dot, duration, h, num, replace } from "./dom.js";
import { TrafficView } from "./traffic-view.js";

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const crumbs = /** @type {HTMLElement} */ (document.getElementById("crumbs"));
const connection = /** @type {HTMLElement} */ (document.getElementById("connection"));

/** The page on screen; it gets every live event while it is. @type {{ deploy(e: any): void, traffic(s: any): void, destroy(): void } | null} */
let page = null;

live({
  deploy: (e) => page?.deploy(e),
  traffic: (s) => page?.traffic(s),
  onState: (state) => {
    connection.dataset.state = state;
    connection.textContent = state;
  },
});

window.addEventListener("hashchange", route);
route();

function route() {
  page?.destroy();
  const match = /^#\/apps\/([^/]+)(?:\/deploys\/(\d+))?$/.exec(location.hash);
  page = match ? appPage(decodeURIComponent(match[1] ?? ""), match[2] ? Number(match[2]) : null) : appsPage();
}

/** @param {unknown} error */
function toast(error) {
  const el = /** @type {HTMLElement} */ (document.getElementById("toast"));
  el.textContent =
    error instanceof ApiError
      ? `${error.code}: ${error.message}${error.hint ? ` (${error.hint})` : ""}`
      : String(error);
  el.hidden = false;
  window.setTimeout(() => {
    el.hidden = true;
  }, 8000);
}

// ---- the apps ----

function appsPage() {
  replace(crumbs);
  const list = h("div", { class: "apps" });
  replace(main, h("h1", {}, "Apps"), list);
  /** @type {Map<string, HTMLElement>} */
  const numbers = new Map();
  const load = async () => {
    const [{ apps }, traffic] = await Promise.all([get("/v1/apps"), get("/v1/traffic")]);
    if (apps.length === 0) {
      replace(list, h("p", { class: "muted" }, "No apps yet. Deploy one: baton deploy DIR --app NAME"));
      return;
    }
    numbers.clear();
    replace(
      list,
      ...apps.map((/** @type {any} */ app) => {
        const t = traffic.apps.find((/** @type {any} */ a) => a.app === app.name);
        const figures = h("p", { class: "figures" });
        numbers.set(app.name, figures);
        renderFigures(figures, t);
        return h(
          "a",
          { class: "card app", href: `#/apps/${encodeURIComponent(app.name)}`, "data-app": app.name },
          h("h2", {}, app.name),
          h(
            "p",
            { class: "release" },
            app.currentVersion === null ? "nothing live yet" : `live: v${app.currentVersion}`,
          ),
          t?.deploy
            ? h(
                "p",
                { class: "deploying" },
                `${t.deploy.kind} ${t.deploy.id} → v${t.deploy.version ?? "?"}: ${t.deploy.phase}`,
              )
            : null,
          h("p", { class: "muted" }, app.domains.join(", ")),
          figures,
        );
      }),
    );
  };
  load().catch(toast);
  let reload = 0;
  return {
    /** @param {any} e */
    deploy(e) {
      if (!/^deploy\.(queued|started|succeeded|failed|rolled_back|cancelled|superseded|step\.started)$/.test(e.kind))
        return;
      window.clearTimeout(reload);
      reload = window.setTimeout(() => load().catch(toast), 200);
    },
    /** @param {any} sample */
    traffic(sample) {
      for (const a of sample.apps) {
        const el = numbers.get(a.app);
        if (el) renderFigures(el, a);
      }
    },
    destroy() {
      window.clearTimeout(reload);
    },
  };
}

/** @param {HTMLElement} el @param {any} t */
function renderFigures(el, t) {
  const releases = t?.releases ?? [];
  const rps = releases.reduce((/** @type {number} */ n, /** @type {any} */ r) => n + r.rps, 0);
  const errors = releases.reduce((/** @type {number} */ n, /** @type {any} */ r) => n + r.errors5xx, 0);
  const p99 = Math.max(-1, ...releases.map((/** @type {any} */ r) => r.p99Ms ?? -1));
  el.textContent = `${num(rps)} req/s · ${errors} 5xx · p99 ${p99 < 0 ? "–" : `${num(p99)} ms`}`;
}

// ---- one app ----

/** @param {string} name @param {number | null} pinned a deploy picked in the URL; else the newest is followed */
function appPage(name, pinned) {
  replace(crumbs, h("a", { href: "#/" }, "Apps"), " / ", h("span", {}, name));
  const header = h("section", { class: "app-head" });
  const traffic = new TrafficView();
  const deployView = new DeployView();
  const charts = h("section", { class: "card charts" });
  const releases = h("section", { class: "card releases" });
  const instances = h("section", { class: "card instances" });
  const deploys = h("section", { class: "card deploys-list" });
  replace(
    main,
    header,
    h("div", { class: "grid" }, traffic.el, deployView.el),
    charts,
    h("div", { class: "grid" }, releases, instances),
    deploys,
  );
  /** @type {number | null} */
  let shown = null;
  /** @type {{ pointMs: number, points: any[] }} */
  let history = { pointMs: 10_000, points: [] };
  /** Live samples since the last history point: the charts' newest seconds. @type {Array<{ time: number, releases: any[] }>} */
  let tail = [];

  const follow = async (/** @type {number | null} */ id) => {
    if (id === null || id === shown) return;
    shown = id;
    await deployView.show(id);
  };

  const loadStatus = async () => {
    const status = await get(`/v1/apps/${encodeURIComponent(name)}`);
    replace(
      header,
      h("h1", {}, name),
      h(
        "span",
        { class: "release", "data-testid": "live-release" },
        status.currentVersion === null ? "nothing live" : `live: v${status.currentVersion}`,
      ),
      status.deploy
        ? h("span", { class: "status s-running" }, `${status.deploy.kind} ${status.deploy.id}: ${status.deploy.phase}`)
        : null,
      status.lock ? h("span", { class: "status s-failed" }, `locked: ${status.lock.reason}`) : null,
      status.maintenance ? h("span", { class: "status s-failed" }, "maintenance on") : null,
      h("p", { class: "muted" }, status.domains.join(", ")),
    );
    renderInstances(instances, status.instances);
    if (pinned === null) await follow(status.deploy?.id ?? status.lastDeploy?.id ?? null);
  };

  const loadReleases = async () => {
    const data = await get(`/v1/apps/${encodeURIComponent(name)}/releases`);
    renderReleases(releases, name, data);
  };

  const loadDeploys = async () => {
    const { deploys: list } = await get(`/v1/apps/${encodeURIComponent(name)}/deploys`);
    renderDeploys(deploys, name, list);
  };

  const loadHistory = async () => {
    const data = await get(`/v1/apps/${encodeURIComponent(name)}/traffic`);
    history = data.history;
    const last = history.points.at(-1)?.time ?? 0;
    tail = tail.filter((p) => p.time > last);
    if (data.live.releases.length > 0 || data.live.canary) traffic.update(data.live, Date.now());
    renderCharts();
  };

  let chartsDrawn = 0;
  const renderCharts = () => {
    chartsDrawn = Date.now();
    const to = Date.now();
    // Up to an hour; a younger history fills the width instead of a sliver at the right edge.
    const earliest = history.points[0]?.time ?? tail[0]?.time ?? to;
    const from = Math.max(to - 3_600_000, Math.min(earliest - history.pointMs, to - 60_000));
    /** @param {(r: any, seconds: number) => number | null} value */
    const series = (value) => {
      /** @type {Map<string, Array<[number, number]>>} */
      const out = new Map();
      const add = (/** @type {number} */ time, /** @type {any[]} */ rs, /** @type {number} */ seconds) => {
        for (const r of rs) {
          const v = value(r, seconds);
          if (v === null) continue;
          const points = out.get(r.release) ?? [];
          points.push([time, v]);
          out.set(r.release, points);
        }
      };
      for (const p of history.points) add(p.time, p.releases, history.pointMs / 1000);
      for (const p of tail) add(p.time, p.releases, 1);
      return out;
    };
    replace(
      charts,
      h("h2", {}, "Last hour"),
      h(
        "div",
        { class: "chart-row" },
        lineChart({ name: "rate", title: "Requests", unit: "req/s", from, to, series: series((r) => r.rps) }),
        lineChart({
          name: "errors",
          title: "Errors",
          unit: "5xx/s",
          from,
          to,
          series: series((r, seconds) => r.errors5xx / seconds),
        }),
        lineChart({ name: "p99", title: "p99 latency", unit: "ms", from, to, series: series((r) => r.p99Ms) }),
      ),
    );
  };

  Promise.all([loadStatus(), loadReleases(), loadDeploys(), loadHistory()])
    .then(() => (pinned === null ? undefined : follow(pinned)))
    .catch(toast);
  const historyTimer = window.setInterval(() => loadHistory().catch(() => undefined), 10_000);
  let reload = 0;

  return {
    /** @param {any} e */
    deploy(e) {
      if (e.app !== name) return;
      if (pinned === null && (e.kind === "deploy.started" || e.kind === "deploy.queued") && e.deployId !== null) {
        follow(e.deployId).catch(toast);
      }
      deployView.onEvent(e);
      if (e.kind === "deploy.output") return;
      window.clearTimeout(reload);
      reload = window.setTimeout(() => {
        Promise.all([loadStatus(), loadReleases(), loadDeploys()]).catch(toast);
      }, 300);
    },
    /** @param {any} sample */
    traffic(sample) {
      const app = sample.apps.find((/** @type {any} */ a) => a.app === name);
      if (app === undefined) return;
      traffic.update(app, sample.time);
      tail.push({ time: sample.time, releases: app.releases });
      if (Date.now() - chartsDrawn >= 2_000) renderCharts();
    },
    destroy() {
      deployView.destroy();
      window.clearInterval(historyTimer);
      window.clearTimeout(reload);
    },
  };
}

/** @param {HTMLElement} el @param {any[]} list */
function renderInstances(el, list) {
  replace(
    el,
    h("h2", {}, "Instances"),
    list.length === 0
      ? h("p", { class: "muted" }, "None running.")
      : h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h(
              "thead",
              {},
              h("tr", {}, ...["Instance", "Release", "Port", "State", "Up", "Restarts"].map((t) => h("th", {}, t))),
            ),
            h(
              "tbody",
              {},
              ...list.map((i) =>
                h(
                  "tr",
                  {},
                  h("td", {}, `${i.type}.${i.index}`),
                  h("td", {}, dot(`v${i.version}`), ` v${i.version}`),
                  h("td", {}, i.port ?? "–"),
                  h("td", { class: `state st-${i.state}` }, i.state),
                  h("td", {}, i.startedAt ? ago(i.startedAt).replace(" ago", "") : "–"),
                  h("td", { class: `n${i.restarts > 0 ? " bad" : ""}` }, i.restarts),
                ),
              ),
            ),
          ),
        ),
  );
}

/** @param {HTMLElement} el @param {string} app @param {any} data */
function renderReleases(el, app, data) {
  const rows = data.releases.map((/** @type {any} */ r) => {
    const diff = r.configDiff;
    const keys = diff
      ? [
          ...diff.added.map((/** @type {string} */ k) => h("span", { class: "key added", title: "added" }, `+${k}`)),
          ...diff.removed.map((/** @type {string} */ k) =>
            h("span", { class: "key removed", title: "removed" }, `−${k}`),
          ),
          ...diff.changed.map((/** @type {string} */ k) =>
            h("span", { class: "key changed", title: "value changed" }, `~${k}`),
          ),
        ]
      : [];
    const canRollBack = !r.current && r.status === "ready" && !r.pruned;
    return h(
      "tr",
      { "data-version": r.version },
      h(
        "td",
        {},
        dot(`v${r.version}`),
        ` v${r.version}`,
        r.current ? h("span", { class: "status s-succeeded" }, "live") : null,
      ),
      h("td", {}, r.status),
      h("td", { class: "source" }, r.source),
      h(
        "td",
        { class: "keys" },
        ...(keys.length > 0 ? keys : [h("span", { class: "muted" }, diff ? "no config change" : "–")]),
      ),
      h("td", {}, ago(r.createdAt)),
      h(
        "td",
        {},
        canRollBack
          ? h(
              "button",
              { class: "danger small", "data-rollback": r.version, onclick: () => confirmRollback(app, r.version) },
              "Roll back",
            )
          : null,
      ),
    );
  });
  replace(
    el,
    h("h2", {}, "Releases"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h("tr", {}, ...["Release", "Status", "Source", "Config keys", "Created", ""].map((t) => h("th", {}, t))),
        ),
        h("tbody", {}, ...rows),
      ),
    ),
    h("p", { class: "muted" }, "Config changes show keys only: values never leave the server."),
  );
}

/** @param {HTMLElement} el @param {string} app @param {any[]} list */
function renderDeploys(el, app, list) {
  replace(
    el,
    h("h2", {}, "Deploys"),
    h(
      "ol",
      { class: "deploys" },
      ...list
        .slice(0, 20)
        .map((d) =>
          h(
            "li",
            {},
            h("a", { href: `#/apps/${encodeURIComponent(app)}/deploys/${d.id}` }, `${d.kind} ${d.id}`),
            d.version === null ? "" : ` v${d.version}`,
            " ",
            h("span", { class: `status s-${d.status}` }, d.status.replace("_", " ")),
            ` ${duration(d.durationMs)} · ${ago(d.createdAt)}${d.by ? ` · ${d.by}` : ""}`,
          ),
        ),
    ),
  );
}

/** Ask first; then roll back and follow the deploy that does it. @param {string} app @param {number} version */
function confirmRollback(app, version) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("confirm"));
  /** @type {HTMLElement} */ (document.getElementById("confirm-title")).textContent =
    `Roll ${app} back to v${version}?`;
  /** @type {HTMLElement} */ (document.getElementById("confirm-text")).textContent =
    `Every user moves to v${version}'s code and config. During a bake this is one router switch to the standby instances; otherwise v${version} is deployed again through the pipeline, with no downtime.`;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue !== "ok") return;
      post(`/v1/apps/${encodeURIComponent(app)}/rollback?wait=0`, { version })
        .then((deploy) => {
          if (location.hash !== `#/apps/${encodeURIComponent(app)}`)
            location.hash = `#/apps/${encodeURIComponent(app)}`;
          page?.deploy({
            app,
            deployId: deploy.id,
            kind: "deploy.queued",
            message: `rollback to v${version} asked`,
            time: Date.now(),
          });
        })
        .catch(toast);
    },
    { once: true },
  );
  dialog.showModal();
}
