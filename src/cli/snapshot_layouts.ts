/**
 * What the snapshot verbs print, in virsh's layouts: `snapshot-list`'s table (with `--parent`
 * a Parent column), its `--tree` (vshTreePrint), `snapshot-info`'s labelled lines, and the
 * document `snapshot-create-as` builds from its options (`--diskspec`, `--memspec`).
 *
 * @module
 */

import type { SnapshotView } from "../client/snapshot_client.ts";
import { ArgumentError } from "./arguments.ts";
import { formatTable } from "./layouts.ts";
import { escapeXml, labelled, yesNo } from "./storage_layouts.ts";

/** virsh's order of snapshots: by name, ignoring case (vshSnapSorter). */
export function compareSnapshotNames(first: string, second: string): number {
  const a = first.toLowerCase();
  const b = second.toLowerCase();
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A creation time as virsh prints it: local time, `%Y-%m-%d %H:%M:%S %z`.
 *
 * @example
 * ```ts
 * import { formatCreationTime } from "./snapshot_layouts.ts";
 * console.log(formatCreationTime(0, 0)); // "1970-01-01 00:00:00 +0000"
 * ```
 */
export function formatCreationTime(seconds: number, offsetMinutes: number): string {
  const local = new Date((seconds + offsetMinutes * 60) * 1000);
  const two = (value: number) => String(value).padStart(2, "0");
  const sign = offsetMinutes < 0 ? "-" : "+";
  const offset = Math.abs(offsetMinutes);
  return `${local.getUTCFullYear()}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())} ` +
    `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())} ` +
    `${sign}${two(Math.floor(offset / 60))}${two(offset % 60)}`;
}

/** The local time zone's offset east of UTC at `seconds`, in minutes. */
export function localOffsetMinutes(seconds: number): number {
  return -new Date(seconds * 1000).getTimezoneOffset();
}

/**
 * `snapshot-list`'s table, the snapshots in the order given.
 *
 * @param withParent `--parent`: a Parent column (empty for a root).
 * @param withHeader False with `-q`.
 */
export function formatSnapshotTable(
  snapshots: readonly SnapshotView[],
  withParent: boolean,
  withHeader: boolean,
): string {
  const header = ["Name", "Creation Time", "State", ...(withParent ? ["Parent"] : [])];
  const rows = snapshots.map((snapshot) => [
    snapshot.name,
    formatCreationTime(
      snapshot.creationTimeSeconds,
      localOffsetMinutes(snapshot.creationTimeSeconds),
    ),
    snapshot.state,
    ...(withParent ? [snapshot.parent ?? ""] : []),
  ]);
  return formatTable(header, rows, withHeader);
}

/**
 * `snapshot-list --tree`: each root, then its children indented under `|` and `+-`, as virsh's
 * vshTreePrint draws them (children in the order given).
 */
export function formatSnapshotTree(snapshots: readonly SnapshotView[]): string {
  const names = snapshots.map((snapshot) => snapshot.name);
  const parents = snapshots.map((snapshot) =>
    snapshot.parent !== null && names.includes(snapshot.parent) ? snapshot.parent : null
  );
  let out = "";
  const print = (index: number, lastIndex: number, root: boolean, indent: string): void => {
    out += `${indent}${root ? "" : "+- "}${names[index]}\n`;
    const childIndent = root ? indent : indent + (index === lastIndex ? " " : "|") + " ";
    const children = parents.flatMap((parent, at) => parent === names[index] ? [at] : []);
    const lastChild = children.length === 0 ? -1 : children[children.length - 1];
    if (lastChild !== -1) out += `${childIndent}  |\n`;
    for (const child of children) print(child, lastChild, false, childIndent + "  ");
    if (lastChild === -1 && index === lastIndex) out += `${childIndent}\n`;
  };
  parents.forEach((parent, index) => {
    if (parent === null) print(index, index, true, "");
  });
  return out;
}

/** `snapshot-info`'s lines. */
export function formatSnapshotInfo(snapshot: SnapshotView): string {
  return labelled([
    ["Name:", snapshot.name],
    ["Domain:", snapshot.domain],
    ["Current:", yesNo(snapshot.current)],
    ["State:", snapshot.state],
    ["Location:", snapshot.location],
    ["Parent:", snapshot.parent ?? "-"],
    ["Children:", String(snapshot.children)],
    ["Descendants:", String(snapshot.descendants)],
    ["Metadata:", yesNo(snapshot.metadata)],
  ]);
}

/** The options `snapshot-create-as` builds its document from. */
export interface SnapshotRequest {
  name?: string;
  description?: string;
  /** `--memspec`: `[file=]name[,snapshot=type]`. */
  memspec?: string;
  /** `--diskspec`s: `disk[,snapshot=type][,driver=type][,stype=type][,file=name]`. */
  diskspecs: readonly string[];
}

/** Splits virsh's comma list, where `,,` is a literal comma. */
function specFields(spec: string): string[] {
  return spec.replaceAll(",,", "\u0000").split(",").map((field) => field.replaceAll("\u0000", ","));
}

function memspecLine(spec: string): string {
  let file: string | undefined;
  let snapshot: string | undefined;
  for (const [index, field] of specFields(spec).entries()) {
    if (field.startsWith("snapshot=")) snapshot = field.slice("snapshot=".length);
    else if (field.startsWith("file=")) file = field.slice("file=".length);
    else if (index === 0 && !field.includes("=")) file = field;
    else throw new ArgumentError(`unable to parse memspec: ${spec}`, "memspec");
  }
  return `  <memory${snapshot === undefined ? "" : ` snapshot='${escapeXml(snapshot)}'`}` +
    `${file === undefined ? "" : ` file='${escapeXml(file)}'`}/>\n`;
}

function diskspecLines(spec: string): string {
  const [name, ...rest] = specFields(spec);
  const values: Record<string, string> = {};
  for (const field of rest) {
    const match = /^(snapshot|driver|stype|file)=(.*)$/.exec(field);
    if (match === null) throw new ArgumentError(`unable to parse diskspec: ${spec}`, "diskspec");
    values[match[1]] = match[2];
  }
  let open = `    <disk name='${escapeXml(name)}'`;
  if (values.snapshot !== undefined) open += ` snapshot='${escapeXml(values.snapshot)}'`;
  if (values.stype !== undefined) open += ` type='${escapeXml(values.stype)}'`;
  if (values.driver === undefined && values.file === undefined) return `${open}/>\n`;
  let text = `${open}>\n`;
  if (values.driver !== undefined) text += `      <driver type='${escapeXml(values.driver)}'/>\n`;
  if (values.file !== undefined) {
    const attribute = values.stype === "block" ? "dev" : "file";
    text += `      <source ${attribute}='${escapeXml(values.file)}'/>\n`;
  }
  return `${text}    </disk>\n`;
}

/** The `<domainsnapshot>` document `snapshot-create-as` sends (and `--print-xml` prints). */
export function snapshotRequestXml(request: SnapshotRequest): string {
  let xml = "<domainsnapshot>\n";
  if (request.name !== undefined) xml += `  <name>${escapeXml(request.name)}</name>\n`;
  if (request.description !== undefined) {
    xml += `  <description>${escapeXml(request.description)}</description>\n`;
  }
  if (request.memspec !== undefined) xml += memspecLine(request.memspec);
  if (request.diskspecs.length > 0) {
    xml += "  <disks>\n";
    for (const spec of request.diskspecs) xml += diskspecLines(spec);
    xml += "  </disks>\n";
  }
  return `${xml}</domainsnapshot>\n`;
}
