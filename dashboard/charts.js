// @ts-check
// Hand-made SVG line charts: one line per Release over the last hour. No library: a chart is a
// few polylines, a grid and labels.
import { dot, h, releaseColor, svg } from "./dom.js";

const W = 600;
const H = 150;
const PAD = { left: 44, right: 8, top: 10, bottom: 20 };

/**
 * @param {{ title: string, unit: string, name: string, from: number, to: number,
 *           series: Map<string, Array<[number, number]>> }} spec
 */
export function lineChart(spec) {
  const { from, to, series } = spec;
  let max = 0;
  for (const points of series.values()) for (const [, v] of points) max = Math.max(max, v);
  max = niceCeiling(max);
  const x = (/** @type {number} */ t) => PAD.left + ((t - from) / Math.max(1, to - from)) * (W - PAD.left - PAD.right);
  const y = (/** @type {number} */ v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const grid = [0, 0.5, 1].map((f) =>
    svg(
      "g",
      {},
      svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f), class: "grid" }),
      svg("text", { x: PAD.left - 4, y: y(max * f) + 4, class: "axis", "text-anchor": "end" }, format(max * f)),
    ),
  );
  const ticks = [
    [from, ago(to - from)],
    [from + (to - from) / 2, ago((to - from) / 2)],
    [to, "now"],
  ].map(([t, label], i) =>
    svg(
      "text",
      { x: x(Number(t)), y: H - 4, class: "axis", "text-anchor": i === 0 ? "start" : i === 2 ? "end" : "middle" },
      String(label),
    ),
  );
  // A Release without requests for a while has no points there: its line breaks instead of
  // drawing a slope across the gap.
  const lines = [...series].flatMap(([release, points]) =>
    segments(points.filter(([t]) => t >= from)).map((segment) =>
      svg("polyline", {
        points: segment.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
        stroke: releaseColor(release),
        class: "line",
        "data-release": release,
      }),
    ),
  );
  const empty = series.size === 0;
  return h(
    "figure",
    { class: "chart", "data-chart": spec.name },
    h("figcaption", {}, spec.title, h("span", { class: "muted" }, ` (${spec.unit})`)),
    svg(
      "svg",
      { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${spec.title} per release, up to the last hour` },
      ...grid,
      ...ticks,
      ...lines,
      empty ? svg("text", { x: W / 2, y: H / 2, class: "axis", "text-anchor": "middle" }, "no requests yet") : null,
    ),
    h(
      "div",
      { class: "legend" },
      ...[...series.keys()].map((release) => h("span", { class: "chip" }, dot(release), release)),
    ),
  );
}

const GAP_MS = 25_000;

/** @param {Array<[number, number]>} points @returns {Array<Array<[number, number]>>} */
function segments(points) {
  /** @type {Array<Array<[number, number]>>} */
  const out = [];
  let previous = -Infinity;
  for (const point of [...points].sort((a, b) => a[0] - b[0])) {
    if (point[0] - previous > GAP_MS || out.length === 0) out.push([]);
    out[out.length - 1]?.push(point);
    previous = point[0];
  }
  return out;
}

/** A tick's distance from now: "-45 s", "-12 min". @param {number} ms */
function ago(ms) {
  return ms < 90_000 ? `-${Math.round(ms / 1000)} s` : `-${Math.round(ms / 60_000)} min`;
}

/** @param {number} max */
function niceCeiling(max) {
  if (max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}

/** @param {number} v */
function format(v) {
  return v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(0) : v.toFixed(v === 0 ? 0 : 1);
}
