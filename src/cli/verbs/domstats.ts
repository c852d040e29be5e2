/**
 * `domstats`: statistics records of all (filtered) or of the named domains, answered by the
 * service from its samples without querying any monitor.
 *
 * @module
 */

import type { DomainStatsOptions } from "../../client/client.ts";
import { ErrorCode, isVirtError } from "../../model/errors.ts";
import type { OptionSpec, VerbArguments } from "../arguments.ts";
import { domainFailure } from "../command_failure.ts";
import { warnIfStale } from "../stale_warning.ts";
import { formatDomainStats } from "../stats_layouts.ts";
import type { Verb, VerbContext } from "../verb.ts";

const flag = (name: string, help: string): OptionSpec => ({ name, kind: "bool", help });

/** virsh's group options, each the group of the same name. */
const GROUP_OPTIONS: readonly [string, string][] = [
  ["state", "report domain state"],
  ["cpu-total", "report domain physical cpu usage"],
  ["balloon", "report domain balloon statistics"],
  ["vcpu", "report domain virtual cpu information"],
  ["interface", "report domain network interface information"],
  ["block", "report domain block device statistics"],
  ["perf", "report domain perf event statistics"],
  ["iothread", "report domain IOThread information"],
  ["memory", "report domain memory usage"],
  ["dirtyrate", "report domain dirty rate information"],
  ["vm", "report hypervisor-specific statistics"],
];

/** virsh's list options and the filter each sets. */
const LIST_OPTIONS: readonly [string, keyof NonNullable<DomainStatsOptions["filter"]>, string][] = [
  ["list-active", "active", "list only active domains"],
  ["list-inactive", "inactive", "list only inactive domains"],
  ["list-persistent", "persistent", "list only persistent domains"],
  ["list-transient", "transient", "list only transient domains"],
  ["list-running", "running", "list only running domains"],
  ["list-paused", "paused", "list only paused domains"],
  ["list-shutoff", "shutoff", "list only shutoff domains"],
  ["list-other", "other", "list only domains in other states"],
];

/**
 * The `domstats` verb.
 *
 * @example
 * ```sh
 * evirt domstats --block --list-running
 * evirt domstats --state web db
 * ```
 */
export const domstatsVerb: Verb = {
  name: "domstats",
  summary: "get statistics about one or multiple domains",
  json: true,
  options: [
    ...GROUP_OPTIONS.map(([name, help]) => flag(name, help)),
    ...LIST_OPTIONS.map(([name, , help]) => flag(name, help)),
    flag("raw", "do not pretty-print the fields"),
    flag("enforce", "enforce requested stats parameters"),
    flag("backing", "add backing chain information to block stats"),
    flag("nowait", "report only stats that are accessible instantly"),
    { name: "domain", kind: "string", rest: true, help: "list of domains to get stats for" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const domains = args.list("domain").length > 0
      ? [...args.list("domain")]
      : args.text("domain") === undefined
      ? []
      : [args.text("domain")!];
    const filter: NonNullable<DomainStatsOptions["filter"]> = {};
    for (const [name, key] of LIST_OPTIONS) {
      if (args.flag(name)) filter[key] = true;
    }
    const options: DomainStatsOptions = {
      groups: GROUP_OPTIONS.map(([name]) => name).filter((name) => args.flag(name)),
      filter,
      nowait: args.flag("nowait"),
      enforce: args.flag("enforce"),
      backing: args.flag("backing"),
    };
    if (domains.length > 0) options.domains = domains;
    let records;
    try {
      records = await context.client.domainStats(options);
    } catch (error) {
      if (!isVirtError(error, ErrorCode.NO_DOMAIN)) throw error;
      throw domainFailure(await missingDomain(context, domains), undefined, error);
    }
    for (const record of records) warnIfStale(context, record.name, record);
    if (args.flag("json")) context.json(records);
    else context.print(formatDomainStats(records));
  },
};

/** The first named domain that does not exist, for virsh's "failed to get domain 'X'". */
async function missingDomain(context: VerbContext, domains: readonly string[]): Promise<string> {
  for (const domain of domains) {
    try {
      await context.client.state(domain);
    } catch (error) {
      if (isVirtError(error, ErrorCode.NO_DOMAIN)) return domain;
      throw error;
    }
  }
  return domains[0] ?? "";
}
