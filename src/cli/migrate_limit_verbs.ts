/**
 * A running domain's live migration limits: `migrate-setspeed` / `migrate-getspeed` (MiB/s)
 * and `migrate-setmaxdowntime` / `migrate-getmaxdowntime` (ms), as virsh prints them.
 *
 * @module
 */

import type { VerbArguments } from "./arguments.ts";
import { domainCommand } from "./command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "./verb.ts";

/**
 * The `migrate-setspeed` verb.
 *
 * @example
 * ```sh
 * evirt migrate-setspeed web 100
 * ```
 */
export const migrateSetspeedVerb: Verb = {
  name: "migrate-setspeed",
  summary: "Set the maximum migration bandwidth",
  options: [
    DOMAIN_OPTION,
    {
      name: "bandwidth",
      kind: "integer",
      positional: true,
      required: true,
      help: "migration bandwidth limit in MiB/s",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const bandwidth = args.integer("bandwidth")!;
    await domainCommand(
      reference,
      undefined,
      () => context.client.setMigrateLimits(reference, { bandwidth }),
    );
  },
};

/**
 * The `migrate-getspeed` verb.
 *
 * @example
 * ```sh
 * evirt migrate-getspeed web   # 8796093022207
 * ```
 */
export const migrateGetspeedVerb: Verb = {
  name: "migrate-getspeed",
  summary: "Get the maximum migration bandwidth",
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
    else context.print(`${limits.bandwidth}\n`);
  },
};

/**
 * The `migrate-setmaxdowntime` verb.
 *
 * @example
 * ```sh
 * evirt migrate-setmaxdowntime web 100
 * ```
 */
export const migrateSetmaxdowntimeVerb: Verb = {
  name: "migrate-setmaxdowntime",
  summary: "set maximum tolerable downtime",
  options: [
    DOMAIN_OPTION,
    {
      name: "downtime",
      kind: "integer",
      positional: true,
      required: true,
      min: 1,
      help: "maximum tolerable downtime (in milliseconds) for migration",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const maxDowntime = args.integer("downtime")!;
    await domainCommand(
      reference,
      undefined,
      () => context.client.setMigrateLimits(reference, { maxDowntime }),
    );
  },
};

/**
 * The `migrate-getmaxdowntime` verb.
 *
 * @example
 * ```sh
 * evirt migrate-getmaxdowntime web   # 300
 * ```
 */
export const migrateGetmaxdowntimeVerb: Verb = {
  name: "migrate-getmaxdowntime",
  summary: "get maximum tolerable downtime",
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
    else context.print(`${limits.maxDowntime}\n`);
  },
};
