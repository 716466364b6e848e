// @ts-check
// Small DOM helpers. Text always goes in as text nodes (never innerHTML), so nothing the server
// sends (app names, commit messages, log lines) can become markup or script.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag
 * @param {Record<string, string | number | boolean | ((e: Event) => void) | undefined | null>} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

/**
 * @param {string} tag
 * @param {Record<string, string | number | undefined | null>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Record<string, unknown>} attrs
 */
function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), /** @type {EventListener} */ (value));
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

/**
 * @param {Element} el
 * @param {Array<Node | string | number | null | undefined | false>} children
 */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "number" ? String(child) : child);
  }
}

/** @param {Element} el @param {...(Node | string | null | undefined | false)} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** @param {number | null | undefined} ms */
export function duration(ms) {
  if (ms === null || ms === undefined) return "…";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** @param {number} time */
export function clock(time) {
  return new Date(time).toLocaleTimeString([], { hour12: false });
}

/** @param {number} time */
export function ago(time) {
  const s = Math.max(0, Math.round((Date.now() - time) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** @param {number | null | undefined} n @param {number} [digits] */
export function num(n, digits = 1) {
  return n === null || n === undefined ? "–" : Number(n).toFixed(digits).replace(/\.0+$/, "");
}

// Neighbouring versions (the old and the new Release of a deploy) get clearly different colours.
const PALETTE = ["#2f6fde", "#d9480f", "#2b8a3e", "#ae3ec9", "#1098ad", "#c92a2a", "#e67700", "#5c7cfa"];

/** One colour per Release, the same wherever it appears. @param {string} release */
export function releaseColor(release) {
  const n = Number(release.replace(/^v/, ""));
  return PALETTE[(Number.isFinite(n) ? n : release.length) % PALETTE.length] ?? "#444";
}

/**
 * A Release's colour swatch. Colours and widths are set through the CSSOM (element.style), which
 * the page's CSP allows, unlike style attributes in markup.
 * @param {string} release
 */
export function dot(release) {
  const el = h("i", { class: "dot" });
  el.style.background = releaseColor(release);
  return el;
}
