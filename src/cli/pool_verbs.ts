/**
 * The pool verbs (`pool-list`, `pool-info`, `pool-dumpxml`, `pool-define`, `pool-create`,
 * `pool-build`, `pool-start`, `pool-destroy`, `pool-delete`, `pool-refresh`, `pool-undefine`,
 * `pool-autostart`), with virsh's options, messages and failure lines. Each has its file in
 * `verbs/` that the registry loads.
 *
 * @module
 */

import { printXml, XPATH_OPTIONS } from "./xml_output.ts";
import type { PoolInfoView } from "../api/storage_views.ts";
import { ArgumentError, type VerbArguments } from "./arguments.ts";
import { readBoundedText } from "./document_file.ts";
import { formatPoolInfo, formatPoolList } from "./storage_layouts.ts";
import { byName, POOL_OPTION, POOL_WORDS, poolCommand, storageOf } from "./storage_verb_support.ts";
import { autostartVerb, undefineVerb } from "./object_verbs.ts";
import type { Verb, VerbContext } from "./verb.ts";

/** The `pool-list` verb. */
export const poolListVerb: Verb = {
  name: "pool-list",
  summary: "list pools",
  json: true,
  options: [
    { name: "inactive", kind: "bool", help: "list inactive pools" },
    { name: "all", kind: "bool", help: "list inactive & active pools" },
    { name: "transient", kind: "bool", help: "list transient pools" },
    { name: "persistent", kind: "bool", help: "list persistent pools" },
    { name: "autostart", kind: "bool", help: "list pools with autostart enabled" },
    { name: "no-autostart", kind: "bool", help: "list pools with autostart disabled" },
    { name: "type", kind: "string", help: "only list pool of specified type(s) (if supported)" },
    { name: "details", kind: "bool", help: "display extended details for pools" },
    { name: "uuid", kind: "bool", help: "list UUID of active pools only" },
    { name: "name", kind: "bool", help: "list name of active pools only" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    for (const other of ["uuid", "name"]) {
      if (args.flag("details") && args.flag(other)) {
        throw new ArgumentError(`Options --details and --${other} are mutually exclusive`, other);
      }
    }
    const storage = storageOf(context);
    const all = args.flag("all");
    const inactive = args.flag("inactive");
    const types = args.text("type")?.split(",").filter((each) => each !== "");
    const pair = (yes: boolean, no: boolean, value: boolean) => yes === no || value === yes;
    const pools = byName(await storage.pools()).filter((pool) =>
      (all || (inactive ? !pool.active : pool.active)) &&
      pair(args.flag("persistent"), args.flag("transient"), pool.persistent) &&
      pair(args.flag("autostart"), args.flag("no-autostart"), pool.autostart) &&
      (types === undefined || types.includes(pool.type))
    );
    const views: PoolInfoView[] = [];
    for (const pool of pools) {
      views.push(
        args.flag("details") || args.flag("json")
          ? await storage.poolInfo(pool.uuid)
          : { ...pool, capacityBytes: 0, allocationBytes: 0, availableBytes: 0 },
      );
    }
    if (args.flag("json")) {
      context.json(views);
      return;
    }
    context.print(formatPoolList(views, {
      details: args.flag("details"),
      name: args.flag("name"),
      uuid: args.flag("uuid"),
      quiet: context.quiet,
    }));
  },
};

/** The `pool-info` verb. */
export const poolInfoVerb: Verb = {
  name: "pool-info",
  summary: "storage pool information",
  json: true,
  options: [POOL_OPTION, { name: "bytes", kind: "bool", help: "Reture pool info in bytes" }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("pool");
    const info = await poolCommand(
      reference,
      undefined,
      () => storageOf(context).poolInfo(reference),
    );
    if (args.flag("json")) context.json(info);
    else context.print(formatPoolInfo(info, args.flag("bytes")));
  },
};

/** The `pool-dumpxml` verb. */
export const poolDumpxmlVerb: Verb = {
  name: "pool-dumpxml",
  summary: "pool information in XML",
  options: [
    POOL_OPTION,
    { name: "inactive", kind: "bool", help: "show inactive defined XML" },
    ...XPATH_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("pool");
    const xml = await poolCommand(
      reference,
      undefined,
      () => storageOf(context).poolXml(reference, args.flag("inactive")),
    );
    await printXml(context, args, xml);
  },
};

const FILE_OPTION = {
  name: "file",
  kind: "string",
  positional: true,
  required: true,
  help: "file containing an XML pool description",
} as const;

const BUILD_OPTIONS = [
  { name: "build", kind: "bool", help: "build the pool as normal" },
  {
    name: "overwrite",
    kind: "bool",
    help: "build the pool without overwriting the existing pool data",
  },
  { name: "no-overwrite", kind: "bool", help: "build the pool and overwrite its existing data" },
] as const;

function checkOverwrite(args: VerbArguments): void {
  if (args.flag("overwrite") && args.flag("no-overwrite")) {
    throw new ArgumentError(
      "Options --overwrite and --no-overwrite are mutually exclusive",
      "overwrite",
    );
  }
}

function startOptions(args: VerbArguments) {
  return {
    build: args.flag("build"),
    overwrite: args.flag("overwrite"),
    noOverwrite: args.flag("no-overwrite"),
  };
}

/** The `pool-define` verb. */
export const poolDefineVerb: Verb = {
  name: "pool-define",
  summary:
    "define an inactive persistent storage pool or modify an existing persistent one from an XML file",
  options: [FILE_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const file = args.required("file");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    const pool = await poolCommand(
      file,
      `Failed to define pool from ${file}`,
      () => storageOf(context).definePool(xml),
    );
    context.printExtra(`Pool ${pool.name} defined from ${file}\n`);
  },
};

/** The `pool-create` verb. */
export const poolCreateVerb: Verb = {
  name: "pool-create",
  summary: "create a pool from an XML file",
  options: [FILE_OPTION, ...BUILD_OPTIONS],
  async run(context: VerbContext, args: VerbArguments) {
    checkOverwrite(args);
    const file = args.required("file");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    const pool = await poolCommand(
      file,
      `Failed to create pool from ${file}`,
      () => storageOf(context).createPool(xml, startOptions(args)),
    );
    context.printExtra(`Pool ${pool.name} created from ${file}\n`);
  },
};

/** A verb that runs one pool action and says so as virsh does. */
function poolActionVerb(spec: {
  name: string;
  summary: string;
  action: "build" | "start" | "destroy" | "delete" | "refresh";
  done: string;
  failed: string;
  options?: Verb["options"];
}): Verb {
  return {
    name: spec.name,
    summary: spec.summary,
    options: [POOL_OPTION, ...(spec.options ?? [])],
    async run(context: VerbContext, args: VerbArguments) {
      checkOverwrite(args);
      const reference = args.required("pool");
      await poolCommand(
        reference,
        `Failed to ${spec.failed} pool ${reference}`,
        () => storageOf(context).poolAction(reference, spec.action, startOptions(args)),
      );
      context.printExtra(`Pool ${reference} ${spec.done}\n`);
    },
  };
}

/** The `pool-build` verb. */
export const poolBuildVerb: Verb = poolActionVerb({
  name: "pool-build",
  summary: "build a pool",
  action: "build",
  done: "built",
  failed: "build",
  options: BUILD_OPTIONS.slice(1),
});

/** The `pool-start` verb. */
export const poolStartVerb: Verb = poolActionVerb({
  name: "pool-start",
  summary: "start a (previously defined) inactive pool",
  action: "start",
  done: "started",
  failed: "start",
  options: BUILD_OPTIONS,
});

/** The `pool-destroy` verb. */
export const poolDestroyVerb: Verb = poolActionVerb({
  name: "pool-destroy",
  summary: "destroy (stop) a pool",
  action: "destroy",
  done: "destroyed",
  failed: "destroy",
});

/** The `pool-delete` verb. */
export const poolDeleteVerb: Verb = poolActionVerb({
  name: "pool-delete",
  summary: "delete a pool",
  action: "delete",
  done: "deleted",
  failed: "delete",
});

/** The `pool-refresh` verb. */
export const poolRefreshVerb: Verb = poolActionVerb({
  name: "pool-refresh",
  summary: "refresh a pool",
  action: "refresh",
  done: "refreshed",
  failed: "refresh",
});

/** The `pool-undefine` verb. */
export const poolUndefineVerb: Verb = undefineVerb(
  POOL_WORDS,
  "undefine an inactive pool",
  (context, reference) => storageOf(context).undefinePool(reference),
);

/** The `pool-autostart` verb. */
export const poolAutostartVerb: Verb = autostartVerb(
  POOL_WORDS,
  (context, reference, enable) => storageOf(context).setPoolAutostart(reference, enable),
);
