/**
 * virsh's text layouts, as pure functions of the API's views: what `evirt` prints is exactly what
 * virsh 9.0 prints for the same facts, so scripts and habits carry over.
 *
 * Each function returns the command's output without the empty line virsh adds after every
 * command (the dispatcher adds it, and `-q` leaves it out).
 *
 * @module
 */

import { BLOCK_JOB_LABELS, BLOCK_JOB_STATUSES } from "../model/block_jobs.ts";
import type {
  DomainInfoView,
  DomainSummaryView,
  EventMessage,
  StateView,
  VersionView,
} from "../api/views.ts";
import type { NodeInfo } from "../../actors/driver_protocol.ts";
import {
  IO_ERROR_ACTIONS,
  lifecycleName,
  METADATA_KINDS,
  WATCHDOG_ACTIONS,
} from "../model/lifecycle.ts";

/** Width of the label column of `dominfo` (virsh's `%-15s `). */
const DOMINFO_LABEL_WIDTH = 15;
/** Width of the label column of `nodeinfo` (virsh's `%-20s `). */
const NODEINFO_LABEL_WIDTH = 20;
/** Spaces after each padded table cell but the last (vshTable). */
const TABLE_CELL_GAP = 2;

/**
 * A table as virsh's vshTable prints it: each cell preceded by one space, every column but the
 * last padded to its widest cell plus two spaces, a dashed line as wide as all columns plus three
 * characters each, control characters shown as `\xNN`.
 *
 * @param header The column titles.
 * @param rows The rows, each with one cell per column.
 * @param withHeader Print the titles and the dashed line (virsh leaves both out with `-q`, and
 *   then sizes the columns by the rows alone).
 * @returns The table, each line ending in a newline.
 *
 * @example The default domain of `test:///default`
 * ```ts
 * import { formatTable } from "./layouts.ts";
 * console.log(formatTable(["Id", "Name", "State"], [["1", "test", "running"]]));
 * // " Id   Name   State\n----------------------\n 1    test   running\n"
 * ```
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  withHeader = true,
): string {
  for (const row of rows) {
    if (row.length !== header.length) {
      throw new TypeError(`A table row has ${row.length} cells, expected ${header.length}`);
    }
  }
  const cells = [header, ...rows].map((row) => row.map(safeCell));
  const sized = withHeader ? cells : cells.slice(1);
  const widths = header.map((_title, column) =>
    Math.max(0, ...sized.map((row) => displayWidth(row[column])))
  );
  const line = (row: readonly string[]) =>
    row.map((cell, column) =>
      column < row.length - 1
        ? ` ${cell}${" ".repeat(widths[column] - displayWidth(cell) + TABLE_CELL_GAP)}`
        : ` ${cell}`
    ).join("") + "\n";
  const body = cells.slice(1).map(line).join("");
  if (!withHeader) return body;
  const dashes = "-".repeat(widths.reduce((sum, width) => sum + width + 3, 0));
  return line(cells[0]) + `${dashes}\n` + body;
}

/** What `list` prints instead of the table. */
export interface ListColumns {
  /** `--uuid`: print uuids. */
  uuid?: boolean;
  /** `--id`: print ids (inactive domains are skipped unless another column is asked for). */
  id?: boolean;
  /** `--name`: print names. */
  name?: boolean;
  /** `--title`: add a Title column to the table (title per uuid). */
  titles?: ReadonlyMap<string, string>;
}

/**
 * `virsh list`: the Id/Name/State table, or with `--uuid`/`--id`/`--name` one line per domain
 * with the asked columns separated by a space.
 *
 * @param domains The domains, in the order to print (the API sorts them as virsh does).
 * @param columns The columns asked for; none gives the table.
 * @param quiet `-q`: the table without its header.
 *
 * @example
 * ```ts
 * import { formatDomainList } from "./layouts.ts";
 * const domain = { uuid: "u", name: "test", id: 1, state: 1, stateName: "running", reason: 1,
 *   reasonName: "booted", persistent: true, autostart: false, active: true };
 * console.log(formatDomainList([domain], { name: true })); // "test\n"
 * ```
 */
export function formatDomainList(
  domains: readonly DomainSummaryView[],
  columns: ListColumns = {},
  quiet = false,
): string {
  if (columns.uuid || columns.id || columns.name) {
    let text = "";
    for (const domain of domains) {
      const fields: string[] = [];
      if (columns.uuid) fields.push(domain.uuid);
      if (columns.id) {
        if (domain.id === null && !columns.uuid && !columns.name) continue;
        fields.push(idText(domain.id));
      }
      if (columns.name) fields.push(domain.name);
      text += `${fields.join(" ")}\n`;
    }
    return text;
  }
  const header = columns.titles === undefined
    ? ["Id", "Name", "State"]
    : ["Id", "Name", "State", "Title"];
  const rows = domains.map((domain) => {
    const row = [idText(domain.id), domain.name, domain.stateName];
    if (columns.titles !== undefined) row.push(columns.titles.get(domain.uuid) ?? "");
    return row;
  });
  // -q drops the header and the dashed line, as vshTablePrintToStdout does.
  return formatTable(header, rows, !quiet);
}

/** The security model `dominfo` reports (evirt has no sVirt-like confinement yet). */
export interface SecurityModel {
  model: string;
  doi: string;
}

/** evirt's security model: none, DOI 0 (what libvirt reports without a security driver). */
export const NO_SECURITY_MODEL: SecurityModel = { model: "none", doi: "0" };

/**
 * `virsh dominfo`: labels padded to 16 columns; `CPU time` only when non-zero.
 *
 * @example
 * ```ts ignore
 * console.log(formatDomainInfo(info));
 * // "Id:             1\nName:           test\n…"
 * ```
 */
export function formatDomainInfo(
  info: DomainInfoView,
  security: SecurityModel = info.security ?? NO_SECURITY_MODEL,
): string {
  const lines: [string, string][] = [
    ["Id:", idText(info.id)],
    ["Name:", info.name],
    ["UUID:", info.uuid],
    ["OS Type:", info.osType],
    ["State:", info.stateName],
    ["CPU(s):", String(info.vcpus)],
  ];
  if (info.cpuTimeNs !== 0) lines.push(["CPU time:", formatCpuTime(info.cpuTimeNs)]);
  lines.push(
    ["Max memory:", `${info.maxMemoryKiB} KiB`],
    ["Used memory:", `${info.memoryKiB} KiB`],
    ["Persistent:", info.persistent ? "yes" : "no"],
    ["Autostart:", info.autostart ? "enable" : "disable"],
    ["Managed save:", info.managedSave === true ? "yes" : "no"],
  );
  if (security.model !== "") {
    lines.push(["Security model:", security.model], ["Security DOI:", security.doi]);
    const label = info.security?.label;
    if (label !== undefined) lines.push(["Security label:", label]);
  }
  // evirt's own line, only while the event log refuses facts: the state above is not yet durable.
  if (info.pendingFacts !== null && info.pendingFacts !== undefined) {
    lines.push([
      "Pending facts:",
      `${info.pendingFacts.facts} (${info.pendingFacts.cause}, since ${info.pendingFacts.since})`,
    ]);
  }
  return labelled(lines, DOMINFO_LABEL_WIDTH);
}

/**
 * CPU time as `dominfo` prints it: seconds with one decimal, rounded as C's `printf("%.1f")`.
 *
 * @example
 * ```ts
 * import { formatCpuTime } from "./layouts.ts";
 * console.log(formatCpuTime(1_250_000_000)); // "1.3s"
 * ```
 */
export function formatCpuTime(cpuTimeNs: number): string {
  const seconds = cpuTimeNs / 1e9;
  // printf rounds an exact tie (x.25, x.75) to even; toFixed rounds it up. Elsewhere they agree.
  const exactTie = Number.isInteger(seconds * 4) && !Number.isInteger(seconds * 2);
  if (exactTie) {
    const tenths = Math.floor(seconds * 10);
    return `${((tenths % 2 === 0 ? tenths : tenths + 1) / 10).toFixed(1)}s`;
  }
  return `${seconds.toFixed(1)}s`;
}

/**
 * `virsh domstate`: the state, with `--reason` followed by the reason in parentheses.
 *
 * @example
 * ```ts
 * import { formatDomainState } from "./layouts.ts";
 * const state = { state: 1, stateName: "running", reason: 1, reasonName: "booted" };
 * console.log(formatDomainState(state, true)); // "running (booted)\n"
 * ```
 */
export function formatDomainState(state: StateView, withReason: boolean): string {
  return withReason ? `${state.stateName} (${state.reasonName})\n` : `${state.stateName}\n`;
}

/**
 * `virsh nodeinfo`: labels padded to 21 columns; `CPU frequency` only when known.
 *
 * @example
 * ```ts
 * import { formatNodeInfo } from "./layouts.ts";
 * const node = { model: "i686", memoryKiB: 3145728, cpus: 16, mhz: 1400, nodes: 2, sockets: 2,
 *   cores: 2, threads: 2 };
 * console.log(formatNodeInfo(node).split("\n")[0]); // "CPU model:           i686"
 * ```
 */
export function formatNodeInfo(node: NodeInfo): string {
  const lines: [string, string][] = [
    ["CPU model:", node.model],
    ["CPU(s):", String(node.cpus)],
  ];
  if (node.mhz !== 0) lines.push(["CPU frequency:", `${node.mhz} MHz`]);
  lines.push(
    ["CPU socket(s):", String(node.sockets)],
    ["Core(s) per socket:", String(node.cores)],
    ["Thread(s) per core:", String(node.threads)],
    ["NUMA cell(s):", String(node.nodes)],
    ["Memory size:", `${node.memoryKiB} KiB`],
  );
  return labelled(lines, NODEINFO_LABEL_WIDTH);
}

/** Display names of hypervisor drivers, as virsh capitalises them. */
const DRIVER_DISPLAY_NAMES: Readonly<Record<string, string>> = { test: "Test", qemu: "QEMU" };

/**
 * `virsh version`, adapted: the library is evirt (the CLI's own version), the API is evirt's
 * `v1`, and one `Running hypervisor` line per driver the service runs. With `daemon`, the service's
 * version follows, as `virsh version --daemon` does.
 *
 * @param cliVersion The version of this CLI.
 * @param view What the service answered.
 * @param daemon Add the `Running against daemon` line.
 *
 * @example
 * ```ts
 * import { formatVersion } from "./layouts.ts";
 * const view = { evirt: "0.1.0", api: "v1", hypervisors: [{ driver: "test", version: "0.1.0", domainTypes: ["test"] }] };
 * console.log(formatVersion("0.1.0", view, false).split("\n")[3]); // "Running hypervisor: Test 0.1.0"
 * ```
 */
export function formatVersion(cliVersion: string, view: VersionView, daemon: boolean): string {
  let text = `Compiled against library: evirt ${cliVersion}\n` +
    `Using library: evirt ${cliVersion}\n` +
    `Using API: evirt ${view.api}\n`;
  for (const hypervisor of view.hypervisors) {
    const name = DRIVER_DISPLAY_NAMES[hypervisor.driver] ?? hypervisor.driver;
    text += `Running hypervisor: ${name} ${hypervisor.version}\n`;
  }
  if (daemon) text += `Running against daemon: ${view.evirt}\n`;
  return text;
}

/**
 * One `virsh event` line (two or more for events that carry lists), as virsh prints each event id,
 * optionally preceded by the time the fact was recorded (`--timestamp`).
 *
 * @param message The event stream message.
 * @param timestamp Prefix the recorded time as virsh does (`YYYY-MM-DD HH:MM:SS.mmm+0000: `).
 * @returns The text, ending in a newline.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./layouts.ts";
 * const message = { position: 3, time: "2024-01-01T00:00:00.000Z", domain: { uuid: "u", name: "test" },
 *   fact: "domain.started", eventId: 0, event: "lifecycle",
 *   lifecycle: { type: 2, typeName: "Started", detail: 0, detailName: "Booted" } };
 * console.log(formatEvent(message, false)); // "event 'lifecycle' for domain 'test': Started Booted\n"
 * ```
 */
export function formatEvent(message: EventMessage, timestamp: boolean): string {
  const prefix = timestamp ? `${formatEventTime(message.time)}: ` : "";
  return `${prefix}${eventText(message)}\n`;
}

function eventText(message: EventMessage): string {
  const event = message.event ?? message.fact;
  const head = `event '${event}' for domain '${message.domain.name}'`;
  const data = message.data ?? {};
  switch (event) {
    case "lifecycle": {
      const lifecycle = message.lifecycle;
      if (lifecycle === undefined) return `${head}: unknown`;
      return `${head}: ${lifecycleName(lifecycle.type, lifecycle.detail)}`;
    }
    case "rtc-change":
      return `${head}: ${data.utcoffset ?? 0}`;
    case "watchdog":
      return `${head}: ${WATCHDOG_ACTIONS[Number(data.action)] ?? "unknown"}`;
    case "io-error":
      return `event 'io-error' for domain '${message.domain.name}': ${ioErrorText(data)}`;
    case "io-error-reason":
      // virsh names both I/O error events 'io-error'.
      return `event 'io-error' for domain '${message.domain.name}': ${ioErrorText(data)} due to ${
        data.reason ?? "(null)"
      }`;
    case "balloon-change":
      return `${head}: ${data.actual ?? 0}KiB`;
    case "device-removed":
    case "device-added":
    case "device-removal-failed":
      return `${head}: ${data.alias ?? "(null)"}`;
    case "block-job-2": {
      // virsh: the job's label, the disk's target, the status.
      const label = BLOCK_JOB_LABELS[Number(data.type)] ?? BLOCK_JOB_LABELS[0];
      const status = BLOCK_JOB_STATUSES[Number(data.status)] ?? "unknown";
      return `${head}: ${label} for ${data.disk ?? "(null)"} ${status}`;
    }
    case "metadata-change":
      return `${head}: type ${METADATA_KINDS[Number(data.type)] ?? "unsupported value"}, uri ${
        data.nsuri ?? "(null)"
      }`;
    default:
      return head;
  }
}

function ioErrorText(data: Record<string, string | number>): string {
  const action = IO_ERROR_ACTIONS[Number(data.action)] ?? "unknown";
  return `${data.srcPath ?? "(null)"} (${data.devAlias ?? "(null)"}) ${action}`;
}

/**
 * A recorded time as virsh's event timestamps: `2024-01-31 12:00:00.123+0000`.
 *
 * @example
 * ```ts
 * import { formatEventTime } from "./layouts.ts";
 * console.log(formatEventTime("2024-01-31T12:00:00.123Z")); // "2024-01-31 12:00:00.123+0000"
 * ```
 */
export function formatEventTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new TypeError(`Invalid event time '${iso}'`);
  return `${date.toISOString().replace("T", " ").replace("Z", "")}+0000`;
}

/**
 * What `virsh event` prints when it stops: why (timeout or interrupt), then the count.
 *
 * @example
 * ```ts
 * import { formatEventSummary } from "./layouts.ts";
 * console.log(formatEventSummary("timeout", 0)); // "event loop timed out\nevents received: 0\n"
 * ```
 */
export function formatEventSummary(
  ending: "done" | "timeout" | "interrupt",
  count: number,
): string {
  const why = ending === "timeout"
    ? "event loop timed out\n"
    : ending === "interrupt"
    ? "event loop interrupted\n"
    : "";
  return `${why}events received: ${count}\n`;
}

function idText(id: number | null): string {
  return id === null ? "-" : String(id);
}

function labelled(lines: readonly [string, string][], width: number): string {
  return lines.map(([label, value]) => `${label.padEnd(width)} ${value}\n`).join("");
}

/** Control characters and a literal `\x` are escaped as vshTable does, so widths stay right. */
function safeCell(text: string): string {
  let safe = "";
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const isControl = code < 0x20 || code === 0x7f;
    const isLiteralEscape = text[index] === "\\" && text[index + 1] === "x";
    safe += isControl || isLiteralEscape ? `\\x${code.toString(16).padStart(2, "0")}` : text[index];
  }
  return safe;
}

/** Terminal columns a string takes: East Asian wide characters take two. */
function displayWidth(text: string): number {
  let width = 0;
  for (const character of text) {
    const code = character.codePointAt(0)!;
    width += isWide(code) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x20000 && code <= 0x3fffd);
}
