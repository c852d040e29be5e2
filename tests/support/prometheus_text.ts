/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests that scrape
 * `/metrics`: it throws, naming the line, on anything the format does not allow (a bad name,
 * label or escape, a value that is not a Go float, a sample before its `# TYPE`, a repeated
 * `# HELP`/`# TYPE`, a family split in two, a series written twice, a missing final newline).
 * The npm parser `parse-prometheus-text-format` accepts unterminated label values and words as
 * values, so it cannot serve a test that must fail on them. `promtool check metrics` (Debian's
 * `prometheus`) is the reference; `prometheus_text_test.ts` holds this reader to it.
 *
 * @module
 */

/** One parsed family. */
export interface ParsedFamily {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string | undefined;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"] as const;

/**
 * Parses an exposition.
 *
 * @throws {Error} `line N: …` on the first violation.
 */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with \\n");
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  const typed = new Set<string>();
  let current: ParsedFamily | undefined;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((line, index) => {
    const fail = (problem: string): never => {
      throw new Error(`line ${index + 1}: ${problem}: ${JSON.stringify(line)}`);
    };
    if (line.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (match === null) return; // A plain comment.
      const [, keyword, name, rest] = match;
      if (!METRIC_NAME.test(name)) fail("bad metric name");
      let family = families.get(name);
      if (family !== undefined && family !== current) fail(`family ${name} split in two`);
      if (family === undefined) {
        family = { name, type: "untyped", help: undefined, samples: [] };
        families.set(name, family);
      }
      current = family;
      if (keyword === "HELP") {
        if (family.help !== undefined) fail("second HELP");
        family.help = unescapeHelp(rest, fail);
      } else {
        if (family.samples.length > 0) fail("TYPE after samples");
        if (typed.has(name)) fail("second TYPE");
        if (!(TYPES as readonly string[]).includes(rest)) fail("unknown type");
        family.type = rest as ParsedFamily["type"];
        typed.add(name);
      }
      return;
    }
    if (line.trim() === "") fail("empty line");
    const sample = parseSample(line, fail);
    const familyName = familyOf(sample.name, current);
    let family = families.get(familyName);
    if (family !== undefined && family !== current) fail(`family ${familyName} split in two`);
    if (family === undefined) {
      family = { name: familyName, type: "untyped", help: undefined, samples: [] };
      families.set(familyName, family);
    }
    current = family;
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) fail("series written twice");
    series.add(key);
    family.samples.push(sample);
  });
  return families;
}

/** The family a sample belongs to: its own name, or the current histogram/summary's. */
function familyOf(name: string, current: ParsedFamily | undefined): string {
  if (current !== undefined && (current.type === "histogram" || current.type === "summary")) {
    for (const suffix of ["_bucket", "_sum", "_count", ""]) {
      if (name === `${current.name}${suffix}`) return current.name;
    }
  }
  return name;
}

function parseSample(
  line: string,
  fail: (problem: string) => never,
): { name: string; labels: Record<string, string>; value: number } {
  const nameEnd = line.search(/[{ ]/);
  if (nameEnd <= 0) fail("no value");
  const name = line.slice(0, nameEnd);
  if (!METRIC_NAME.test(name)) fail("bad metric name");
  const labels: Record<string, string> = {};
  let at = nameEnd;
  if (line[at] === "{") {
    at++;
    while (line[at] !== "}") {
      const equals = line.indexOf("=", at);
      if (equals < 0) fail("label without value");
      const label = line.slice(at, equals);
      if (!LABEL_NAME.test(label) || label.startsWith("__")) fail(`bad label name '${label}'`);
      if (label in labels) fail(`label '${label}' twice`);
      if (line[equals + 1] !== '"') fail("label value not quoted");
      let value = "";
      let index = equals + 2;
      for (;;) {
        const char = line[index];
        if (char === undefined) fail("unterminated label value");
        if (char === '"') break;
        if (char === "\\") {
          const next = line[index + 1];
          if (next === "\\" || next === '"') value += next;
          else if (next === "n") value += "\n";
          else fail("bad escape in label value");
          index += 2;
          continue;
        }
        value += char;
        index++;
      }
      labels[label] = value;
      at = index + 1;
      if (line[at] === ",") at++;
      else if (line[at] !== "}") fail("expected , or } after a label");
    }
    at++;
  }
  const rest = line.slice(at);
  const match = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (match === null) fail("expected one space, a value and an optional timestamp");
  if (!FLOAT.test(match![1])) fail(`value '${match![1]}' is not a float`);
  const text = match![1];
  const value = text.endsWith("Inf") ? (text.startsWith("-") ? -Infinity : Infinity) : Number(text);
  return { name, labels, value };
}

function unescapeHelp(text: string, fail: (problem: string) => never): string {
  return text.replace(/\\(.?)/g, (_, next: string) => {
    if (next === "\\") return "\\";
    if (next === "n") return "\n";
    return fail("bad escape in HELP");
  });
}
