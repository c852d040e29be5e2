/**
 * `snapshot-list`: a domain's snapshots as `virsh snapshot-list` shows them: the table (with
 * `--parent` a Parent column), `--name` one name a line, `--tree` the tree; filtered by
 * libvirt's list flags, from a snapshot (`--from`, `--current`) or all.
 *
 * @module
 */

import { SnapshotClient, type SnapshotView } from "../../client/snapshot_client.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import {
  compareSnapshotNames,
  formatSnapshotTable,
  formatSnapshotTree,
} from "../snapshot_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

const FLAGS = [
  ["parent", "add a column showing parent snapshot"],
  ["roots", "list only snapshots without parents"],
  ["leaves", "list only snapshots without children"],
  ["no-leaves", "list only snapshots that are not leaves (with children)"],
  ["metadata", "list only snapshots that have metadata that would prevent undefine"],
  ["no-metadata", "list only snapshots that have no metadata managed by libvirt"],
  ["inactive", "filter by snapshots taken while inactive"],
  ["active", "filter by snapshots taken while active (full system snapshots)"],
  ["disk-only", "filter by disk-only snapshots"],
  ["internal", "filter by internal snapshots"],
  ["external", "filter by external snapshots"],
  ["tree", "list snapshots in a tree"],
] as const;

/**
 * The `snapshot-list` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-list web --tree
 * ```
 */
export const snapshotListVerb: Verb = {
  name: "snapshot-list",
  summary: "List snapshots for a domain",
  json: true,
  options: [
    DOMAIN_OPTION,
    ...FLAGS.map(([name, help]) => ({ name, kind: "bool" as const, help })),
    { name: "from", kind: "string", help: "limit list to children of given snapshot" },
    { name: "current", kind: "bool", help: "limit list to children of current snapshot" },
    { name: "descendants", kind: "bool", help: "with --from, list all descendants" },
    { name: "name", kind: "bool", help: "list snapshot names only" },
    { name: "topological", kind: "bool", help: "sort list topologically rather than by name" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const snapshots = new SnapshotClient(context.client);
    const tree = args.flag("tree");
    checkExclusive(args);
    let from = args.text("from");
    if (args.flag("current")) from = (await snapshots.current(reference)).name;
    const descendants = args.flag("descendants");
    let list = await snapshots.list(reference, {
      ...(from === undefined ? {} : { from }),
      descendants,
      roots: args.flag("roots"),
      topological: args.flag("topological"),
      leaves: args.flag("leaves"),
      noLeaves: args.flag("no-leaves"),
      metadata: args.flag("metadata"),
      noMetadata: args.flag("no-metadata"),
      inactive: args.flag("inactive"),
      active: args.flag("active"),
      diskOnly: args.flag("disk-only"),
      internal: args.flag("internal"),
      external: args.flag("external"),
    });
    if (tree && from !== undefined) list = [await snapshots.info(reference, from), ...list];
    if (!args.flag("topological")) {
      list = [...list].sort((first, second) => compareSnapshotNames(first.name, second.name));
    }
    if (args.flag("json")) {
      context.json(list);
      return;
    }
    context.print(render(list, args, tree, from, context.quiet));
  },
};

function checkExclusive(args: VerbArguments): void {
  const pairs: [string, string][] = [
    ["roots", "tree"],
    ["tree", "name"],
    ["tree", "parent"],
    ["parent", "roots"],
    ["roots", "from"],
    ["roots", "current"],
    ["from", "current"],
  ];
  for (const [first, second] of pairs) {
    if (args.has(first) && args.has(second)) {
      throw new ArgumentError(`Options --${first} and --${second} are mutually exclusive`, first);
    }
  }
}

function render(
  list: readonly SnapshotView[],
  args: VerbArguments,
  tree: boolean,
  from: string | undefined,
  quiet: boolean,
): string {
  if (tree) {
    // Below a start snapshot, the start is the tree's one root.
    const rooted = from === undefined
      ? list
      : list.map((view) => view.name === from ? { ...view, parent: null } : view);
    return formatSnapshotTree(rooted);
  }
  if (args.flag("name")) return list.map((view) => `${view.name}\n`).join("");
  return formatSnapshotTable(list, args.flag("parent"), !quiet);
}
