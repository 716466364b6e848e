// A strict parser of Prometheus' text exposition format (version 0.0.4), enough to check what
// /metrics says: every sample line must belong to a declared metric family of a known type, and
// label values must be quoted and escaped correctly; anything else throws.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePrometheus(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const familyOf = (sample: string): PromFamily | undefined => {
    for (const suffix of ["", "_bucket", "_sum", "_count"]) {
      if (suffix !== "" && !sample.endsWith(suffix)) continue;
      const family = families.get(sample.slice(0, sample.length - suffix.length));
      if (family !== undefined && (suffix === "" || family.type === "histogram" || family.type === "summary"))
        return family;
    }
    return undefined;
  };
  text.split("\n").forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.trim() === "") return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name = "", rest = ""] = meta;
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      const family = families.get(name) ?? { name, type: "untyped", help: "", samples: [] };
      if (kind === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest))
          throw new Error(`bad type, ${where}`);
        family.type = rest as PromFamily["type"];
      } else family.help = rest;
      families.set(name, family);
      return;
    }
    if (line.startsWith("#")) return;
    const sample = parseSample(line, where);
    const family = familyOf(sample.name);
    if (family === undefined) throw new Error(`sample of an undeclared metric, ${where}`);
    family.samples.push(sample);
  });
  return families;
}

function parseSample(line: string, where: string): PromSample {
  const brace = line.indexOf("{");
  const space = line.lastIndexOf(" ");
  const name = line.slice(0, brace >= 0 ? brace : line.indexOf(" "));
  if (!NAME.test(name)) throw new Error(`bad sample name, ${where}`);
  const labels: Record<string, string> = {};
  let rest = line.slice(name.length);
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (!rest.startsWith("}")) {
      const m = /^([^=]+)="((?:[^"\\]|\\.)*)",?/.exec(rest);
      if (m === null || !LABEL.test(m[1] ?? "")) throw new Error(`bad labels, ${where}`);
      labels[m[1] as string] = (m[2] ?? "").replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      rest = rest.slice(m[0].length);
    }
    rest = rest.slice(1);
  }
  const valueText = line.slice(space + 1);
  // The text format's special values are spelled NaN, +Inf and -Inf; Number() reads "NaN" itself.
  const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
  if (rest.trim() !== valueText || (Number.isNaN(value) && valueText !== "NaN")) throw new Error(`bad value, ${where}`);
  return { name, labels, value };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none, throws if several. */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matches = [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}
