/**
 * A running domain's live migration limits: `migrate-setspeed` / `migrate-getspeed` (MiB/s)
 * and `migrate-setmaxdowntime` / `migrate-getmaxdowntime` (ms), as virsh prints them. Each pair
 * is one limit of `/v1/domains/:ref/migrate/limits`, read or set.
 *
 * @module
 */

import type { MigrateLimitsView } from "../api/views.ts";
import type { VerbArguments } from "./arguments.ts";
import { domainCommand } from "./command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "./verb.ts";

/** A verb that sets the limit `limit` from its positional option `option`. */
function setLimitVerb(
  name: string,
  summary: string,
  limit: keyof MigrateLimitsView,
  option: { name: string; min?: number; help: string },
): Verb {
  return {
    name,
    summary,
    options: [DOMAIN_OPTION, { ...option, kind: "integer", positional: true, required: true }],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required("domain");
      const value = args.integer(option.name)!;
      await domainCommand(
        reference,
        undefined,
        () => context.client.setMigrateLimits(reference, { [limit]: value }),
      );
    },
  };
}

/** A verb that prints the limit `limit` (with `--json`, both limits). */
function getLimitVerb(name: string, summary: string, limit: keyof MigrateLimitsView): Verb {
  return {
    name,
    summary,
    json: true,
    options: [DOMAIN_OPTION],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required("domain");
      const limits = await domainCommand(
        reference,
        undefined,
        () => context.client.migrateLimits(reference),
      );
      if (args.flag("json")) context.json(limits);
      else context.print(`${limits[limit]}\n`);
    },
  };
}

/**
 * The `migrate-setspeed` verb.
 *
 * @example
 * ```sh
 * evirt migrate-setspeed web 100
 * ```
 */
export const migrateSetspeedVerb: Verb = setLimitVerb(
  "migrate-setspeed",
  "Set the maximum migration bandwidth",
  "bandwidth",
  { name: "bandwidth", help: "migration bandwidth limit in MiB/s" },
);

/**
 * The `migrate-getspeed` verb.
 *
 * @example
 * ```sh
 * evirt migrate-getspeed web   # 8796093022207
 * ```
 */
export const migrateGetspeedVerb: Verb = getLimitVerb(
  "migrate-getspeed",
  "Get the maximum migration bandwidth",
  "bandwidth",
);

/**
 * The `migrate-setmaxdowntime` verb.
 *
 * @example
 * ```sh
 * evirt migrate-setmaxdowntime web 100
 * ```
 */
export const migrateSetmaxdowntimeVerb: Verb = setLimitVerb(
  "migrate-setmaxdowntime",
  "set maximum tolerable downtime",
  "maxDowntime",
  {
    name: "downtime",
    min: 1,
    help: "maximum tolerable downtime (in milliseconds) for migration",
  },
);

/**
 * The `migrate-getmaxdowntime` verb.
 *
 * @example
 * ```sh
 * evirt migrate-getmaxdowntime web   # 300
 * ```
 */
export const migrateGetmaxdowntimeVerb: Verb = getLimitVerb(
  "migrate-getmaxdowntime",
  "get maximum tolerable downtime",
  "maxDowntime",
);
