/**
 * The volume verbs (`vol-list`, `vol-info`, `vol-dumpxml`, `vol-path`, `vol-key`, `vol-name`,
 * `vol-pool`, `vol-create`, `vol-create-as`, `vol-create-from`, `vol-clone`, `vol-delete`,
 * `vol-wipe`, `vol-resize`), with virsh's options, lookups, messages and failure lines. Each has
 * its file in `verbs/` that the registry loads.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "./arguments.ts";
import { CommandFailure } from "./command_failure.ts";
import { readBoundedText } from "./document_file.ts";
import { printXml, XPATH_OPTIONS } from "./xml_output.ts";
import { formatVolumeInfo, formatVolumeList, volumeRequestXml } from "./storage_layouts.ts";
import {
  byName,
  findVolume,
  parseVolumeSize,
  POOL_OPTION,
  poolCommand,
  storageOf,
  VOLUME_OPTIONS,
} from "./storage_verb_support.ts";
import type { Verb, VerbContext } from "./verb.ts";
import { duringVolumeJob } from "./volume_job_verbs.ts";

/** The volume name of a volume XML document, for the progress line (empty when absent). */
function nameInXml(xml: string): string {
  return /<name>\s*([^<]*?)\s*<\/name>/.exec(xml)?.[1] ?? "";
}

/** The `vol-list` verb. */
export const volListVerb: Verb = {
  name: "vol-list",
  summary: "list vols",
  json: true,
  options: [POOL_OPTION, {
    name: "details",
    kind: "bool",
    help: "display extended details for volumes",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("pool");
    const volumes = byName(
      await poolCommand(
        reference,
        "Failed to list volumes",
        () => storageOf(context).volumes(reference),
      ),
    );
    if (args.flag("json")) context.json(volumes);
    else context.print(formatVolumeList(volumes, args.flag("details"), context.quiet));
  },
};

/** The `vol-info` verb. */
export const volInfoVerb: Verb = {
  name: "vol-info",
  summary: "storage vol information",
  json: true,
  options: [
    ...VOLUME_OPTIONS,
    {
      name: "bytes",
      kind: "bool",
      help: "sizes are represented in bytes rather than pretty units",
    },
    {
      name: "physical",
      kind: "bool",
      help: "return the physical size of the volume in allocation field",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const volume = await findVolume(context, args.required("vol"), args.text("pool"));
    if (args.flag("json")) context.json(volume);
    else context.print(formatVolumeInfo(volume, args.flag("bytes"), args.flag("physical")));
  },
};

/** The `vol-dumpxml` verb. */
export const volDumpxmlVerb: Verb = {
  name: "vol-dumpxml",
  summary: "vol information in XML",
  options: [
    ...VOLUME_OPTIONS,
    ...XPATH_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const volume = await findVolume(context, args.required("vol"), args.text("pool"));
    const xml = await storageOf(context).volumeXml(volume.poolUuid, volume.name);
    await printXml(context, args, xml);
  },
};

/** A verb that prints one field of a volume found by name (with `--pool`), key or path. */
function volumeFieldVerb(
  name: string,
  summary: string,
  field: "path" | "key",
): Verb {
  return {
    name,
    summary,
    options: VOLUME_OPTIONS,
    async run(context: VerbContext, args: VerbArguments) {
      const volume = await findVolume(context, args.required("vol"), args.text("pool"));
      context.print(`${volume[field]}\n`);
    },
  };
}

/** The `vol-path` verb. */
export const volPathVerb: Verb = volumeFieldVerb(
  "vol-path",
  "returns the volume path for a given volume name or key",
  "path",
);

/** The `vol-key` verb. */
export const volKeyVerb: Verb = volumeFieldVerb(
  "vol-key",
  "returns the volume key for a given volume name or path",
  "key",
);

const KEY_OPTION = {
  name: "vol",
  kind: "string",
  positional: true,
  required: true,
  help: "volume key or path",
} as const;

/** The `vol-name` verb. */
export const volNameVerb: Verb = {
  name: "vol-name",
  summary: "returns the volume name for a given volume key or path",
  options: [KEY_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const volume = await findVolume(context, args.required("vol"), undefined, false);
    context.print(`${volume.name}\n`);
  },
};

/** The `vol-pool` verb. */
export const volPoolVerb: Verb = {
  name: "vol-pool",
  summary: "returns the storage pool for a given volume key or path",
  options: [KEY_OPTION, {
    name: "uuid",
    kind: "bool",
    help: "return the pool uuid rather than pool name",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const volume = await findVolume(context, args.required("vol"), undefined, false);
    context.print(`${args.flag("uuid") ? volume.poolUuid : volume.pool}\n`);
  },
};

const PREALLOC_OPTION = {
  name: "prealloc-metadata",
  kind: "bool",
  help: "preallocate metadata (for qcow2 instead of full allocation)",
} as const;

const FILE_OPTION = {
  name: "file",
  kind: "string",
  positional: true,
  required: true,
  help: "file containing an XML vol description",
} as const;

/** The `vol-create` verb. */
export const volCreateVerb: Verb = {
  name: "vol-create",
  summary: "create a vol from an XML file",
  options: [POOL_OPTION, FILE_OPTION, PREALLOC_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("pool");
    const file = args.required("file");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    const volume = await poolCommand(
      reference,
      `Failed to create vol from ${file}`,
      () => storageOf(context).createVolume(reference, xml, args.flag("prealloc-metadata")),
    );
    context.printExtra(`Vol ${volume.name} created from ${file}\n`);
  },
};

/** The `vol-create-as` verb. */
export const volCreateAsVerb: Verb = {
  name: "vol-create-as",
  summary: "create a volume from a set of args",
  options: [
    POOL_OPTION,
    { name: "name", kind: "string", positional: true, required: true, help: "name of the volume" },
    {
      name: "capacity",
      kind: "string",
      positional: true,
      required: true,
      help: "size of the vol, as scaled integer (default bytes)",
    },
    {
      name: "allocation",
      kind: "string",
      help: "initial allocation size, as scaled integer (default bytes)",
    },
    { name: "format", kind: "string", help: "file format type raw,bochs,qcow,qcow2,qed,vmdk" },
    { name: "backing-vol", kind: "string", help: "the backing volume if taking a snapshot" },
    {
      name: "backing-vol-format",
      kind: "string",
      help: "format of backing volume if taking a snapshot",
    },
    PREALLOC_OPTION,
    { name: "print-xml", kind: "bool", help: "print XML document, but don't define/create" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("pool");
    const name = args.required("name");
    const capacityBytes = parseVolumeSize(args.required("capacity"));
    const allocation = args.text("allocation");
    const format = args.text("format");
    const backingName = args.text("backing-vol");
    let backing: { path: string; format?: string } | undefined;
    if (backingName !== undefined) {
      const found = await findVolume(context, backingName, reference).catch(() => undefined);
      const backingFormat = args.text("backing-vol-format");
      backing = {
        path: found?.path ?? backingName,
        ...(backingFormat === undefined ? {} : { format: backingFormat }),
      };
    }
    const xml = volumeRequestXml({
      name,
      capacityBytes,
      ...(allocation === undefined ? {} : { allocationBytes: parseVolumeSize(allocation) }),
      ...(format === undefined ? {} : { format }),
      ...(backing === undefined ? {} : { backing }),
    });
    if (args.flag("print-xml")) {
      context.print(xml);
      return;
    }
    await poolCommand(
      reference,
      `Failed to create vol ${name}`,
      () =>
        duringVolumeJob(
          context,
          { pool: reference, volume: name },
          "allocating",
          storageOf(context).createVolume(reference, xml, args.flag("prealloc-metadata")),
        ),
    );
    context.printExtra(`Vol ${name} created\n`);
  },
};

/** The `vol-create-from` verb. */
export const volCreateFromVerb: Verb = {
  name: "vol-create-from",
  summary: "create a vol, using another volume as input",
  options: [
    POOL_OPTION,
    FILE_OPTION,
    {
      name: "vol",
      kind: "string",
      positional: true,
      required: true,
      help: "input vol name or key",
    },
    { name: "inputpool", kind: "string", help: "pool name or uuid of the input volume's pool" },
    PREALLOC_OPTION,
    { name: "reflink", kind: "bool", help: "use btrfs COW lightweight copy" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("pool");
    const file = args.required("file");
    if (args.flag("reflink")) {
      throw new ArgumentError("--reflink is not supported by evirt", "reflink");
    }
    const input = await findVolume(context, args.required("vol"), args.text("inputpool"));
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    const made = await poolCommand(
      reference,
      `Failed to create vol from ${file}`,
      () =>
        duringVolumeJob(
          context,
          { pool: reference, volume: nameInXml(xml) },
          "copying",
          storageOf(context).cloneVolume(input.poolUuid, input.name, xml, {
            targetPool: reference,
            preallocMetadata: args.flag("prealloc-metadata"),
          }),
        ),
    );
    context.printExtra(`Vol ${made.name} created from input vol ${input.name}\n`);
  },
};

/** The `vol-clone` verb: the source's XML under the new name, as virsh builds it. */
export const volCloneVerb: Verb = {
  name: "vol-clone",
  summary: "clone a volume.",
  options: [
    { name: "vol", kind: "string", positional: true, required: true, help: "orig vol name or key" },
    { name: "newname", kind: "string", positional: true, required: true, help: "clone name" },
    { name: "pool", kind: "string", help: "pool name or uuid" },
    PREALLOC_OPTION,
    { name: "reflink", kind: "bool", help: "use btrfs COW lightweight copy" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const name = args.required("vol");
    const newName = args.required("newname");
    if (args.flag("reflink")) {
      throw new ArgumentError("--reflink is not supported by evirt", "reflink");
    }
    const source = await findVolume(context, name, args.text("pool"));
    const storage = storageOf(context);
    const original = await storage.volumeXml(source.poolUuid, source.name);
    const escaped = newName.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const xml = original.replace(/<name>[^<]*<\/name>/, `<name>${escaped}</name>`)
      .replace(/\s*<key>[^<]*<\/key>/, "");
    await poolCommand(
      source.pool,
      `Failed to clone vol from ${name}`,
      () =>
        duringVolumeJob(
          context,
          { pool: source.poolUuid, volume: newName },
          "cloning",
          storage.cloneVolume(source.poolUuid, source.name, xml, {
            preallocMetadata: args.flag("prealloc-metadata"),
          }),
        ),
    );
    context.printExtra(`Vol ${newName} cloned from ${source.name}\n`);
  },
};

/** The `vol-delete` verb. */
export const volDeleteVerb: Verb = {
  name: "vol-delete",
  summary: "delete a vol",
  options: [
    ...VOLUME_OPTIONS,
    {
      name: "delete-snapshots",
      kind: "bool",
      help: "delete snapshots associated with volume (must be supported by storage driver)",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const name = args.required("vol");
    if (args.flag("delete-snapshots")) {
      throw new ArgumentError("--delete-snapshots is not supported by evirt", "delete-snapshots");
    }
    const volume = await findVolume(context, name, args.text("pool"));
    await poolCommand(
      volume.pool,
      `Failed to delete vol ${name}`,
      () => storageOf(context).deleteVolume(volume.poolUuid, volume.name),
    );
    context.printExtra(`Vol ${name} deleted\n`);
  },
};

const WIPE_ALGORITHMS = [
  "zero",
  "nnsa",
  "dod",
  "bsi",
  "gutmann",
  "schneier",
  "pfitzner7",
  "pfitzner33",
  "random",
  "trim",
];

/** The `vol-wipe` verb. */
export const volWipeVerb: Verb = {
  name: "vol-wipe",
  summary: "wipe a vol",
  options: [...VOLUME_OPTIONS, {
    name: "algorithm",
    kind: "string",
    help: "perform selected wiping algorithm",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const name = args.required("vol");
    const volume = await findVolume(context, name, args.text("pool"));
    const algorithm = args.text("algorithm");
    if (algorithm !== undefined && !WIPE_ALGORITHMS.includes(algorithm)) {
      throw new CommandFailure(`Unsupported algorithm '${algorithm}'`);
    }
    await poolCommand(
      volume.pool,
      `Failed to wipe vol ${name}`,
      () =>
        duringVolumeJob(
          context,
          { pool: volume.poolUuid, volume: volume.name },
          "wiping",
          storageOf(context).wipeVolume(volume.poolUuid, volume.name, algorithm),
        ),
    );
    context.printExtra(`Vol ${name} wiped\n`);
  },
};

/** The `vol-resize` verb: `-SIZE` shrinks by SIZE (with `--shrink`), `--delta` adds. */
export const volResizeVerb: Verb = {
  name: "vol-resize",
  summary: "resize a vol",
  options: [
    {
      name: "vol",
      kind: "string",
      positional: true,
      required: true,
      help: "vol name, key or path",
    },
    {
      name: "capacity",
      kind: "string",
      positional: true,
      required: true,
      help: "new capacity for the vol, as scaled integer (default bytes)",
    },
    { name: "pool", kind: "string", help: "pool name or uuid" },
    {
      name: "allocate",
      kind: "bool",
      help: "allocate the new capacity, rather than leaving it sparse",
    },
    {
      name: "delta",
      kind: "bool",
      help: "use capacity as a delta to current size, rather than the new size",
    },
    { name: "shrink", kind: "bool", help: "allow the resize to shrink the volume" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const name = args.required("vol");
    const text = args.required("capacity");
    let delta = args.flag("delta");
    let sizeText = text.startsWith("+") ? text.slice(1) : text;
    if (text.startsWith("-")) {
      if (!args.flag("shrink")) throw new CommandFailure("negative size requires --shrink");
      delta = true;
      sizeText = text.slice(1);
    }
    const capacity = parseVolumeSize(sizeText);
    const volume = await findVolume(context, name, args.text("pool"));
    const how = delta ? "by" : "to";
    await poolCommand(
      volume.pool,
      `Failed to change size of volume '${name}' ${how} ${text}`,
      () =>
        storageOf(context).resizeVolume(volume.poolUuid, volume.name, capacity, {
          allocate: args.flag("allocate"),
          delta,
          shrink: args.flag("shrink"),
        }),
    );
    context.printExtra(`Size of volume '${name}' successfully changed ${how} ${text}\n`);
  },
};
