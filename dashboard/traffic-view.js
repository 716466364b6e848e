// @ts-check
// The live traffic of one app: the split between Releases (what the router measured over the
// last seconds, and the canary weight it was told), rates, errors and p99 per Release, and a feed
// of failed and held requests as they happen.
import { clock, dot, h, num, replace } from "./dom.js";

/** Seconds of samples the split is measured over: one second alone is too noisy at low traffic. */
const SPLIT_WINDOW = 3;
const FEED_MAX = 50;

export class TrafficView {
  constructor() {
    /** @type {any[]} the app's last samples, newest last */
    this.recent = [];
    /** @type {HTMLElement[]} */
    this.feedItems = [];
    this.split = h("div", { class: "split", "data-testid": "split" });
    this.weight = h("p", { class: "muted weight" });
    this.table = h("div", { class: "table-wrap" });
    this.feed = h("ol", { class: "feed", "data-testid": "feed" });
    this.el = h(
      "section",
      { class: "card traffic" },
      h("h2", {}, "Live traffic"),
      this.split,
      this.weight,
      this.table,
      h("h3", {}, "Failed and held requests"),
      this.feed,
    );
    this.renderFeedEmpty();
  }

  /** @param {any} app one app's part of a traffic sample (or of /v1/apps/NAME/traffic's live) @param {number} time */
  update(app, time) {
    this.recent.push(app);
    if (this.recent.length > SPLIT_WINDOW) this.recent.shift();
    this.renderSplit(app);
    this.renderTable(app);
    this.addToFeed(app, time);
  }

  /** @param {any} app */
  renderSplit(app) {
    /** @type {Map<string, number>} */
    const served = new Map();
    for (const sample of this.recent)
      for (const r of sample.releases) served.set(r.release, (served.get(r.release) ?? 0) + r.requests);
    const total = [...served.values()].reduce((a, b) => a + b, 0);
    if (total === 0) {
      replace(this.split, h("span", { class: "muted" }, "no requests in the last seconds"));
    } else {
      const parts = [...served]
        .filter(([, n]) => n > 0)
        .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
        .map(([release, n]) => {
          const share = Math.round((1000 * n) / total) / 10;
          const part = h(
            "div",
            { class: "part", "data-release": release, "data-share": share, title: `${release}: ${n} requests` },
            h("span", {}, `${release} ${share}%`),
          );
          part.style.flexBasis = `${share}%`;
          part.style.background = dot(release).style.background;
          return part;
        });
      replace(this.split, ...parts);
    }
    this.weight.textContent =
      app.canary === null || app.canary === undefined
        ? `All new clients go to ${app.active ?? "no release yet"}.`
        : `Canary: the router sends ${app.canary.weight}% of new clients to ${app.canary.release}, the rest to ${app.active}.`;
  }

  /** @param {any} app */
  renderTable(app) {
    const rows = app.releases.map((/** @type {any} */ r) =>
      h(
        "tr",
        { "data-release": r.release },
        h("td", {}, dot(r.release), ` ${r.release}`),
        h("td", { class: "n" }, num(r.rps)),
        h("td", { class: `n${r.errors5xx > 0 ? " bad" : ""}` }, r.errors5xx),
        h("td", { class: "n" }, r.upstreamErrors),
        h("td", { class: "n" }, r.p99Ms === null ? "–" : num(r.p99Ms)),
        h("td", { class: "n" }, r.inFlight),
      ),
    );
    replace(
      this.table,
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "Release"),
            h("th", { class: "n" }, "req/s"),
            h("th", { class: "n" }, "5xx"),
            h("th", { class: "n" }, "upstream err"),
            h("th", { class: "n" }, "p99 ms"),
            h("th", { class: "n" }, "in flight"),
          ),
        ),
        h("tbody", {}, ...rows),
      ),
      h("p", { class: "muted" }, `Held now: ${app.heldNow}`),
    );
  }

  /** @param {any} app @param {number} time */
  addToFeed(app, time) {
    /** @type {HTMLElement[]} */
    const items = [];
    for (const r of app.releases) {
      if (r.errors5xx > 0 || r.upstreamErrors > 0)
        items.push(
          h(
            "li",
            { class: "bad", "data-kind": "failed" },
            `${clock(time)} ${r.release}: ${r.errors5xx} failed (5xx)${r.upstreamErrors > 0 ? `, ${r.upstreamErrors} could not reach an instance` : ""}`,
          ),
        );
    }
    if (app.held > 0 || app.holdTimeouts > 0 || app.heldNow > 0)
      items.push(
        h(
          "li",
          { class: app.holdTimeouts > 0 ? "bad" : "warn", "data-kind": "held" },
          `${clock(time)} ${app.held} held until an instance was ready${app.holdTimeouts > 0 ? `, ${app.holdTimeouts} timed out (503)` : ""}; ${app.heldNow} waiting now`,
        ),
      );
    if (items.length === 0) return;
    if (this.feedItems.length === 0) this.feed.replaceChildren();
    for (const item of items) {
      this.feed.prepend(item);
      this.feedItems.unshift(item);
    }
    while (this.feedItems.length > FEED_MAX) this.feedItems.pop()?.remove();
  }

  renderFeedEmpty() {
    replace(this.feed, h("li", { class: "muted" }, "None since this page opened."));
  }
}
