#!/usr/bin/env node
// The soak's memory verdict, from its samples; also runnable on a stored result to judge it again:
//
//   node bench/soak/judge.mjs bench/results/soak-<timestamp>.json [--warmup-minutes N]
//
// Why not a straight line through RSS: a Node process under steady load lets garbage pile up in
// its old generation for a long time before a full GC, and keeps the pages afterwards. In a
// 100-minute soak (README.md beside this file) the router's RSS climbed from 69 to 87 MB over its
// first 35 minutes, with its live heap flat at 7.4 MB, until its first full GC brought it back to
// 75 MB; a 25-minute fit of RSS reads such a climb as 40 MB/h of "growth", or a drop as none. What a
// process keeps alive is its heap right after a full GC: a leak makes that climb from one GC to the
// next. So memory is judged on that, with RSS only bounded and descriptors flat.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/**
 * Live-heap growth allowed after the warm-up, MB per hour of the fit through the heap after each
 * full GC. A leak of 100 KB per deploy, at a deploy a minute, is 6 MB/h; the server's slow fill of
 * code and statement caches was 2 MB over its first 40 minutes, then none.
 */
export const LIVE_HEAP_LIMIT_MB_PER_HOUR = 5;
/** Full GCs needed in the window to fit anything: fewer, and the run is too short to say. */
export const MIN_FULL_GCS = 2;
/** RSS may reach this multiple of its value at the end of the warm-up (garbage waiting for a full GC), never more. */
export const RSS_BOUND_RATIO = 1.5;
/** Descriptors may differ by this many between the window's ends (a deploy's pipes in flight). */
export const FD_SLACK = 4;
/** Below this much sampling after the warm-up, memory is not judged at all. */
export const MIN_JUDGED_MINUTES = 10;

/** Least-squares slope of y over x, or null with fewer than 3 points. */
export function slope(points) {
  if (points.length < 3) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/** One process's figures over the window: `who` is "router" or "server" (the sample field prefix). */
function judgeProcess(who, window) {
  const first = window[0];
  const last = window.at(-1);
  // The live heap as known at the window's start (from the last full GC before it), then after
  // every full GC inside it.
  const points = [];
  if (typeof first?.[`${who}LiveHeapMb`] === "number")
    points.push({ x: first.atS / 3600, y: first[`${who}LiveHeapMb`] });
  let fullGcs = 0;
  for (let i = 1; i < window.length; i++) {
    const s = window[i];
    const gcs = s[`${who}MajorGcs`];
    if (
      typeof gcs === "number" &&
      gcs > (window[i - 1][`${who}MajorGcs`] ?? 0) &&
      typeof s[`${who}LiveHeapMb`] === "number"
    ) {
      fullGcs += gcs - (window[i - 1][`${who}MajorGcs`] ?? 0);
      points.push({ x: s.atS / 3600, y: s[`${who}LiveHeapMb`] });
    }
  }
  const liveSlope = slope(points);
  const rss = window.map((s) => s[`${who}RssMb`]).filter((v) => typeof v === "number");
  const rssStart = rss[0] ?? null;
  const rssPeak = rss.length > 0 ? Math.max(...rss) : null;
  const fdsStart = first?.[`${who}Fds`] ?? null;
  const fdsEnd = last?.[`${who}Fds`] ?? null;
  const judged = fullGcs >= MIN_FULL_GCS && liveSlope !== null;
  const liveOk = judged && liveSlope < LIVE_HEAP_LIMIT_MB_PER_HOUR;
  const rssOk = rssStart !== null && rssPeak !== null && rssPeak <= rssStart * RSS_BOUND_RATIO;
  const fdsOk = fdsStart !== null && fdsEnd !== null && fdsEnd <= fdsStart + FD_SLACK;
  return {
    fullGcs,
    liveHeapStartMb: points[0]?.y ?? null,
    liveHeapEndMb: points.at(-1)?.y ?? null,
    liveHeapMbPerHour: liveSlope,
    rssStartMb: rssStart,
    rssPeakMb: rssPeak,
    rssEndMb: rss.at(-1) ?? null,
    rssFitMbPerHour: slope(
      window.filter((s) => typeof s[`${who}RssMb`] === "number").map((s) => ({ x: s.atS / 3600, y: s[`${who}RssMb`] })),
    ),
    fdsStart,
    fdsEnd,
    judged,
    ok: liveOk && rssOk && fdsOk,
  };
}

/**
 * The memory verdict over the samples after `warmupMinutes`: `judged` false when the window is
 * under MIN_JUDGED_MINUTES (too short to mean anything) or a process had too few full GCs in it
 * (`inconclusive`: run longer).
 */
export function judgeMemory(samples, warmupMinutes) {
  const window = samples.filter((s) => s.atS >= warmupMinutes * 60);
  const minutes = window.length > 1 ? (window.at(-1).atS - window[0].atS) / 60 : 0;
  const router = judgeProcess("router", window);
  const server = judgeProcess("server", window);
  const longEnough = minutes >= MIN_JUDGED_MINUTES;
  const judged = longEnough && router.judged && server.judged;
  return {
    warmupMinutes,
    minutes,
    samples: window.length,
    router,
    server,
    longEnough,
    judged,
    inconclusive: longEnough && !judged,
    ok: judged && router.ok && server.ok,
  };
}

/** The verdict as lines for the report. */
export function memoryLines(m) {
  const f = (n, d = 1) => (n == null ? "—" : Number(n).toFixed(d));
  const line = (who, p) =>
    `  ${who}: live heap after full GC ${f(p.liveHeapStartMb)} -> ${f(p.liveHeapEndMb)} MB over ${p.fullGcs} full GCs, fit ${f(p.liveHeapMbPerHour)} MB/h; RSS ${f(p.rssStartMb)} -> ${f(p.rssEndMb)} MB, peak ${f(p.rssPeakMb)} (straight-line fit ${f(p.rssFitMbPerHour)} MB/h); fds ${p.fdsStart} -> ${p.fdsEnd}`;
  const lines = [
    `Memory after the ${m.warmupMinutes}-minute warm-up (${m.samples} samples over ${f(m.minutes)} min):`,
    line("router", m.router),
    line("server", m.server),
  ];
  if (!m.longEnough) lines.push(`  memory not judged: under ${MIN_JUDGED_MINUTES} min of samples after the warm-up`);
  else if (m.inconclusive)
    lines.push(
      `  memory INCONCLUSIVE: a process had under ${MIN_FULL_GCS} full GCs after the warm-up (router ${m.router.fullGcs}, server ${m.server.fullGcs}); run longer`,
    );
  else
    lines.push(
      `  limits: live heap fit under ${LIVE_HEAP_LIMIT_MB_PER_HOUR} MB/h, RSS peak at most ${RSS_BOUND_RATIO}x its value after the warm-up, fds within ${FD_SLACK}: ${m.ok ? "within" : "EXCEEDED"}`,
    );
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { "warmup-minutes": { type: "string" } },
  });
  const file = positionals[0];
  if (file === undefined) {
    console.error("usage: node bench/soak/judge.mjs bench/results/soak-<timestamp>.json [--warmup-minutes N]");
    process.exit(1);
  }
  const result = JSON.parse(readFileSync(file, "utf8"));
  const warmup =
    values["warmup-minutes"] === undefined ? result.options.warmupMinutes : Number(values["warmup-minutes"]);
  const m = judgeMemory(result.samples, warmup);
  console.log(memoryLines(m).join("\n"));
  process.exit(m.ok ? 0 : m.judged ? 2 : 3);
}
