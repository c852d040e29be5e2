/**
 * `domjobinfo`: a domain's background job, as virsh prints it: its outgoing live migration's
 * progress (QEMU's figures), or `Job type: None`.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { prettyFigure } from "../scaled_size.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import type { JobInfoView } from "../../api/views.ts";

const JOB_TYPES = ["None", "Bounded", "Unbounded", "Completed", "Failed", "Cancelled"];
/** virsh's names of `VIR_DOMAIN_JOB_OPERATION_*`. */
const OPERATIONS = [
  "Unknown",
  "Start",
  "Save",
  "Restore",
  "Incoming migration",
  "Outgoing migration",
  "Snapshot",
  "Snapshot revert",
  "Dump",
  "Backup",
  "Snapshot delete",
];

/** One `Label: value` line as virsh pads it (`%-17s %-12s`, then the unit). */
function line(label: string, value: string, unit = ""): string {
  return `${label.padEnd(17)} ${value.padEnd(12)}${unit === "" ? "" : ` ${unit}`}\n`;
}

/** virsh's layout of a job. */
export function formatJobInfo(view: JobInfoView): string {
  let text = line("Job type:", JOB_TYPES[view.type] ?? "Unknown");
  if (view.type === 0) return text;
  const stat = (name: string) => view.stats[name];
  const has = (name: string) => stat(name) !== undefined;
  text += line("Operation:", OPERATIONS[stat("operation") ?? 0] ?? "Unknown");
  text += line("Time elapsed:", `${stat("time_elapsed") ?? 0}`, "ms");
  const sized = (label: string, name: string) => {
    if (has(name)) text += `${label.padEnd(17)} ${prettyFigure(stat(name))}\n`;
  };
  sized("Data processed:", "data_processed");
  sized("Data remaining:", "data_remaining");
  sized("Data total:", "data_total");
  sized("Memory processed:", "memory_processed");
  sized("Memory remaining:", "memory_remaining");
  sized("Memory total:", "memory_total");
  if (has("memory_bps")) {
    text += `${"Memory bandwidth:".padEnd(17)} ${prettyFigure(stat("memory_bps"))}/s\n`;
  }
  if (has("memory_dirty_rate")) {
    text += line("Dirty rate:", `${stat("memory_dirty_rate")}`, "pages/s");
  }
  if (has("memory_iteration")) text += line("Iteration:", `${stat("memory_iteration")}`);
  if (has("memory_constant")) text += line("Constant pages:", `${stat("memory_constant")}`);
  if (has("memory_normal")) text += line("Normal pages:", `${stat("memory_normal")}`);
  sized("Normal data:", "memory_normal_bytes");
  if (has("downtime")) text += line("Total downtime:", `${stat("downtime")}`, "ms");
  if (has("setup_time")) text += line("Setup time:", `${stat("setup_time")}`, "ms");
  return text;
}

/**
 * The `domjobinfo` verb.
 *
 * @example
 * ```sh
 * evirt domjobinfo web   # Job type: Unbounded / Operation: Outgoing migration / …
 * ```
 */
export const domjobinfoVerb: Verb = {
  name: "domjobinfo",
  summary: "domain job information",
  json: true,
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const view = await domainCommand(reference, undefined, () => context.client.jobInfo(reference));
    if (args.flag("json")) context.json(view);
    else context.print(formatJobInfo(view));
  },
};
