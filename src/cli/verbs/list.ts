/**
 * `list`: domains as virsh lists them (active by id, then inactive by name).
 *
 * @module
 */

import type { ListDomainsFilter } from "../../client/client.ts";
import { ArgumentError, type OptionSpec, type VerbArguments } from "../arguments.ts";
import { formatDomainList, type ListColumns } from "../layouts.ts";
import type { Verb, VerbContext } from "../verb.ts";

/** How many `--title` lookups run at once. */
const TITLE_LOOKUPS_CONCURRENT_MAX = 8;

const flag = (name: string, help: string): OptionSpec => ({ name, kind: "bool", help });

/** virsh's filter options and the API filter each sets. */
const FILTERS: readonly [string, keyof ListDomainsFilter, string][] = [
  ["persistent", "persistent", "list persistent domains"],
  ["transient", "transient", "list transient domains"],
  ["autostart", "autostart", "list domains with autostart enabled"],
  ["no-autostart", "noAutostart", "list domains with autostart disabled"],
  ["state-running", "running", "list domains in running state"],
  ["state-paused", "paused", "list domains in paused state"],
  ["state-shutoff", "shutoff", "list domains in shutoff state"],
  ["state-other", "other", "list domains in other states"],
  ["with-managed-save", "managedSave", "list domains with managed save state"],
  ["without-managed-save", "noManagedSave", "list domains without managed save"],
];

/**
 * virsh's filters on saved state evirt does not keep: no domain has snapshots or checkpoints,
 * so a `--with-…` filter matches none and a `--without-…` filter every one.
 */
const ABSENT_STATE_FILTERS: readonly [string, boolean, string][] = [
  ["with-snapshot", false, "list domains with existing snapshot"],
  ["without-snapshot", true, "list domains without a snapshot"],
  ["with-checkpoint", false, "list domains with existing checkpoint"],
  ["without-checkpoint", true, "list domains without a checkpoint"],
];

/**
 * The `list` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default list --all
 * ```
 */
export const listVerb: Verb = {
  name: "list",
  summary: "list domains",
  json: true,
  options: [
    flag("inactive", "list inactive domains"),
    flag("all", "list inactive & active domains"),
    ...FILTERS.map(([name, , help]) => flag(name, help)),
    ...ABSENT_STATE_FILTERS.map(([name, , help]) => flag(name, help)),
    // Marks inactive domains that have a managed save image: evirt has none, so it marks none.
    flag("managed-save", "mark inactive domains with managed save state"),
    flag("uuid", "list uuid's only"),
    flag("name", "list domain names only"),
    flag("id", "list domain IDs only"),
    flag("table", "list table (default)"),
    flag("title", "show domain title"),
  ],
  async run(context: VerbContext, args: VerbArguments) {
    for (const other of ["name", "uuid", "id"]) {
      if (args.flag("table") && args.flag(other)) {
        throw new ArgumentError(`Options --table and --${other} are mutually exclusive`, "--table");
      }
    }
    const matchesNone = ABSENT_STATE_FILTERS.some(([name, kept]) => !kept && args.flag(name));
    const domains = matchesNone ? [] : await context.client.listDomains(listFilter(args));
    if (args.flag("json")) {
      context.json(domains);
      return;
    }
    const columns: ListColumns = {
      uuid: args.flag("uuid"),
      id: args.flag("id"),
      name: args.flag("name"),
    };
    if (args.flag("title") && !columns.uuid && !columns.id && !columns.name) {
      columns.titles = await titles(context, domains.map((domain) => domain.uuid));
    }
    context.print(formatDomainList(domains, columns, context.quiet));
  },
};

/**
 * virsh's flags → the API's filter: active only by default, `--inactive`, or `--all`; a state
 * filter alone looks at every domain (`list --state-shutoff` lists shut off domains).
 */
function listFilter(args: VerbArguments): ListDomainsFilter {
  const filter: ListDomainsFilter = {};
  const byState = FILTERS.some(([name]) => name.startsWith("state-") && args.flag(name));
  if (!args.flag("all") && !byState) {
    if (args.flag("inactive")) filter.inactive = true;
    else filter.active = true;
  }
  for (const [name, key] of FILTERS) {
    if (args.flag(name)) filter[key] = true;
  }
  return filter;
}

async function titles(context: VerbContext, uuids: string[]): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (let start = 0; start < uuids.length; start += TITLE_LOOKUPS_CONCURRENT_MAX) {
    const batch = uuids.slice(start, start + TITLE_LOOKUPS_CONCURRENT_MAX);
    const infos = await Promise.all(
      batch.map((uuid) => context.client.info(uuid).catch(() => undefined)),
    );
    infos.forEach((info, index) => result.set(batch[index], info?.title ?? ""));
  }
  return result;
}
