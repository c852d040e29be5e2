/**
 * `log`: offline tools for the event log of a state directory (`EVIRT_STATE_DIR`), needing no
 * service, like `version`:
 *
 * - `evirt log check` verifies the whole log and its marker; exit 0 when intact, 1 otherwise;
 * - `evirt log export FILE` writes a verified backup (see `src/log/log_archive.ts` for the format);
 * - `evirt log import FILE` restores a backup into an empty log while no service runs.
 *
 * @module
 */

import { loadLayeredConfig } from "../../config/layered_config.ts";
import { exportLog } from "../../log/log_export.ts";
import { importLog } from "../../log/log_import.ts";
import { checkLog, type LogCheckReport } from "../../log/log_check.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { DOMAIN_FACT_TYPES } from "../../model/facts.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import type { Verb, VerbContext, VerbOutcome } from "../verb.ts";

/** The actions of `evirt log`. */
const ACTIONS = ["check", "export", "import"] as const;

/**
 * The `log` verb.
 *
 * @example
 * ```sh
 * evirt log check
 * evirt log export /backup/evirt-log.jsonl
 * EVIRT_STATE_DIR=/var/lib/evirt evirt log import /backup/evirt-log.jsonl
 * ```
 */
export const logVerb: Verb = {
  name: "log",
  summary: "check, export or import the event log of the state directory (no service needed)",
  offline: true,
  options: [
    {
      name: "action",
      kind: "string",
      positional: true,
      required: true,
      help: "check, export or import",
    },
    { name: "file", kind: "string", positional: true, help: "the export file (export, import)" },
    { name: "json", kind: "bool", help: "check: print the report as JSON" },
  ],
  async run(context: VerbContext, args: VerbArguments): Promise<VerbOutcome> {
    const action = args.text("action")!;
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new ArgumentError(
        `unknown log action '${action}': expected ${ACTIONS.join(", ")}`,
        "action",
      );
    }
    const { stateDir } = (await loadLayeredConfig(context.io.env, { uid: context.io.uid })).config;
    if (action === "check") {
      if (args.text("file") !== undefined) {
        throw new ArgumentError(`unexpected data '${args.text("file")}'`, "file");
      }
      const report = await checkLog(stateDir, { factTypes: DOMAIN_FACT_TYPES });
      if (args.flag("json")) context.json(report);
      else context.print(formatCheck(report));
      return { exitCode: report.problems.length === 0 ? 0 : 1 };
    }
    const file = args.text("file");
    if (file === undefined || file === "") {
      throw new VirtError(ErrorCode.INVALID_ARG, `log ${action} needs a FILE`, { where: "file" });
    }
    const summary = action === "export"
      ? await exportLog(stateDir, file)
      : await importLog(stateDir, file, { factTypes: DOMAIN_FACT_TYPES });
    const range = summary.headPosition < summary.oldestPosition
      ? "no facts"
      : `facts ${summary.oldestPosition} to ${summary.headPosition}`;
    context.printExtra(
      `${action === "export" ? "Exported" : "Imported"} ${range}, ${summary.streams} streams, ` +
        `${summary.snapshots} snapshots ${action === "export" ? "to" : "from"} ${file}\n`,
    );
    return { exitCode: 0 };
  },
};

/** The report in virsh's "Key: value" layout, then one line per problem. */
function formatCheck(report: LogCheckReport): string {
  const marker = report.marker.kind === "present"
    ? `position ${report.marker.headPosition} of log ${report.marker.logId}`
    : report.marker.kind === "absent"
    ? "none"
    : `damaged (${report.marker.detail})`;
  const lines: [string, string][] = [
    ["Log", `${report.databasePath} (format ${report.format}, log ${report.logId ?? "none"})`],
    [
      "Positions",
      report.headPosition < report.oldestPosition
        ? "none"
        : `${report.oldestPosition} to ${report.headPosition}`,
    ],
    ["Facts checked", String(report.factsChecked)],
    ["Streams", String(report.streamsChecked)],
    ["Snapshots", String(report.snapshotsChecked)],
    ["Marker", marker],
  ];
  for (const problem of report.problems) lines.push(["Problem", problem.message]);
  const count = report.problems.length + report.problemsOmitted;
  lines.push(["Result", count === 0 ? "ok" : `${count} problem${count === 1 ? "" : "s"}`]);
  return lines.map(([key, value]) => `${`${key}:`.padEnd(15)} ${value}\n`).join("");
}
