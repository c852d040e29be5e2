/**
 * `change-media`: ejects, inserts or replaces the medium of a cdrom or floppy, by sending the
 * disk's element with its `<source>` removed, added or replaced to `update-device`, as virsh
 * does.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import {
  DEVICE_SCOPE_OPTIONS,
  deviceScope,
  diskSourcePath,
  elementXml,
  findDisk,
} from "../device_scope.ts";
import type { XmlElement } from "../../model/xml_extra.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

type Action = "eject" | "insert" | "update";

const DONE: Record<Action, string> = {
  eject: "Successfully ejected media.",
  insert: "Successfully inserted media.",
  update: "Successfully updated media.",
};

/** The disk element with its medium taken out, or set to `source`. */
function withMedium(disk: XmlElement, source: string | undefined): XmlElement {
  const type = disk.attributes?.type ?? "file";
  const children = (disk.children ?? []).filter((child) =>
    typeof child === "string" ? child.trim() !== "" : child.name !== "source"
  );
  if (source !== undefined) {
    const attribute = type === "block" ? "dev" : type === "dir" ? "dir" : "file";
    const at = children.findIndex((child) => typeof child !== "string" && child.name === "target");
    children.splice(at === -1 ? 0 : at, 0, { name: "source", attributes: { [attribute]: source } });
  }
  return { ...disk, children };
}

/**
 * The `change-media` verb.
 *
 * @example
 * ```sh
 * evirt change-media web hdc /isos/debian.iso --insert   # Successfully inserted media.
 * ```
 */
export const changeMediaVerb: Verb = {
  name: "change-media",
  summary: "Change media of CD or floppy drive",
  options: [
    DOMAIN_OPTION,
    {
      name: "path",
      kind: "string",
      positional: true,
      required: true,
      help: "Fully-qualified path or target of disk device",
    },
    { name: "source", kind: "string", positional: true, help: "source of the media" },
    { name: "eject", kind: "bool", help: "Eject the media" },
    { name: "insert", kind: "bool", help: "Insert the media" },
    { name: "update", kind: "bool", help: "Update the media" },
    ...DEVICE_SCOPE_OPTIONS,
    { name: "force", kind: "bool", help: "force media changing" },
    { name: "print-xml", kind: "bool", help: "print XML document rather than change media" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const path = args.required("path");
    const chosen = (["eject", "insert", "update"] as const).filter((name) => args.flag(name));
    if (chosen.length > 1) {
      throw new ArgumentError(
        `Options --${chosen[0]} and --${chosen[1]} are mutually exclusive`,
        `--${chosen[0]}`,
      );
    }
    const action: Action = chosen[0] ?? "update";
    const source = args.text("source");
    if (action === "eject" && source !== undefined) {
      throw new ArgumentError("Options --eject and --source are mutually exclusive", "--source");
    }
    if (action !== "eject" && source === undefined) {
      throw new ArgumentError(`No source is specified for ${action} media`, "--source");
    }
    const scope = await deviceScope(context, args, reference, false);
    const disk = await findDisk(context, reference, path, scope, true);
    const present = diskSourcePath(disk) !== undefined;
    if (action === "eject" && !present) {
      throw new CommandFailure(`The disk device '${path}' doesn't have media`);
    }
    if (action === "insert" && present) {
      throw new CommandFailure(`The disk device '${path}' already has media`);
    }
    const xml = await elementXml(withMedium(disk, action === "eject" ? undefined : source));
    if (args.flag("print-xml")) {
      context.print(`${xml}\n`);
      return;
    }
    try {
      await context.client.changeDevice(reference, "update", xml, {
        ...scope,
        ...(args.flag("force") ? { force: true } : {}),
      });
    } catch (error) {
      throw new CommandFailure(`Failed to complete action ${action} on media`, error);
    }
    // virsh prints it without a newline: its empty line after each command ends the line.
    context.printExtra(DONE[action]);
  },
};
