/**
 * The Prometheus text exposition format (version 0.0.4) for metric families built at scrape
 * time: `# HELP`, `# TYPE`, then one line per sample, label values and help escaped as the format
 * requires, values as Go's `strconv.FormatFloat` writes them (`NaN`, `+Inf`, `-Inf`).
 *
 * @module
 */

/** One sample of a family: its labels (in order) and its value. */
export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

/** A metric family: name, type, help and samples (a family with none is still described). */
export interface MetricFamily {
  name: string;
  type: "counter" | "gauge";
  help: string;
  samples: MetricSample[];
}

/**
 * The exposition text of `families`, in order.
 *
 * @example
 * ```ts
 * import { renderFamilies } from "./prometheus_text.ts";
 * const text = renderFamilies([
 *   { name: "libvirt_up", type: "gauge", help: "Whether scraping worked.", samples: [{ labels: {}, value: 1 }] },
 * ]);
 * console.log(text); // "# HELP libvirt_up Whether scraping worked.\n# TYPE libvirt_up gauge\nlibvirt_up 1\n"
 * ```
 */
export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels);
      const set = labels.length === 0
        ? ""
        : `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
      lines.push(`${family.name}${set} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** A label value with `\`, `"` and newlines escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
