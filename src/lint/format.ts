/** The readable text form of violations, as `baton lint` prints it. */
import type { Violation } from "./rule.js";

const INDENT = "    ";

export function formatText(violations: readonly Violation[], fileCount: number): string {
  const blocks = violations.map(formatViolation);
  blocks.push(summaryLine(violations, fileCount));
  return `${blocks.join("\n\n")}\n`;
}

function formatViolation(v: Violation): string {
  const gutter = String(v.line);
  const lines = [
    `${v.file}:${v.line}:${v.column}  ${v.severity}  ${v.rule}  ${v.message}`,
    `${INDENT}${gutter} | ${v.source}`,
    `${INDENT}${" ".repeat(gutter.length)} | ${caret(v.source, v.column)}`,
  ];
  if (v.lock !== undefined) lines.push(`${INDENT}lock: ${v.lock}`);
  const [first = "", ...rest] = v.safe.split("\n");
  lines.push(`${INDENT}safe: ${first}`, ...rest.map((line) => `${INDENT}      ${line}`));
  return lines.join("\n");
}

/** A caret under the column; tabs are kept so it lines up however the terminal expands them. */
function caret(source: string, column: number): string {
  const before = [...source].slice(0, column - 1);
  return `${before.map((ch) => (ch === "\t" ? "\t" : " ")).join("")}^`;
}

function summaryLine(violations: readonly Violation[], fileCount: number): string {
  const errors = violations.filter((v) => v.severity === "error").length;
  const warnings = violations.length - errors;
  const files = `${fileCount} file${fileCount === 1 ? "" : "s"}`;
  if (violations.length === 0) return `no problems in ${files}`;
  return `${plural(errors, "error")}, ${plural(warnings, "warning")} in ${files}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
