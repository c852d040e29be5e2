/**
 * `attach-disk`: builds the `<disk>` element virsh builds from its options and attaches it
 * (`--print-xml` prints it instead).
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DEVICE_SCOPE_OPTIONS, deviceScope } from "../device_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

function escape(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll("'", "&apos;").replaceAll('"', "&quot;");
}

function attributes(values: Record<string, string | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}='${escape(value)}'`)
    .join("");
}

/** Whether `path` is a block device (virsh then writes `type='block'` and `dev=`). */
function isBlockDevice(path: string): boolean {
  try {
    return Deno.statSync(path).isBlockDevice === true;
  } catch {
    return false;
  }
}

/**
 * The `<disk>` element virsh 9.0 writes for `attach-disk` (same attributes, same order, same
 * indentation).
 *
 * @example
 * ```ts
 * import { diskXml } from "./attach-disk.ts";
 * console.log(diskXml({ source: "/tmp/b.img", target: "vdb" }));
 * // <disk type='file'>\n  <source file='/tmp/b.img'/>\n  <target dev='vdb'/>\n</disk>\n
 * ```
 */
export function diskXml(options: {
  source: string;
  target: string;
  sourceType?: string;
  device?: string;
  targetBus?: string;
  driver?: string;
  subdriver?: string;
  cache?: string;
  mode?: string;
  serial?: string;
}): string {
  const type = options.sourceType ?? (isBlockDevice(options.source) ? "block" : "file");
  const lines = [`<disk${attributes({ type, device: options.device })}>`];
  if (options.driver !== undefined || options.subdriver !== undefined || options.cache) {
    lines.push(
      `  <driver${
        attributes({ name: options.driver, type: options.subdriver, cache: options.cache })
      }/>`,
    );
  }
  if (options.source !== "") {
    const attribute = type === "block" ? "dev" : type === "dir" ? "dir" : "file";
    lines.push(`  <source${attributes({ [attribute]: options.source })}/>`);
  }
  lines.push(`  <target${attributes({ dev: options.target, bus: options.targetBus })}/>`);
  if (options.mode === "readonly") lines.push("  <readonly/>");
  if (options.mode === "shareable") lines.push("  <shareable/>");
  if (options.serial !== undefined) lines.push(`  <serial>${escape(options.serial)}</serial>`);
  lines.push("</disk>");
  return `${lines.join("\n")}\n`;
}

/**
 * The `attach-disk` verb.
 *
 * @example
 * ```sh
 * evirt attach-disk web /var/lib/images/data.img vdb --live   # Disk attached successfully
 * ```
 */
export const attachDiskVerb: Verb = {
  name: "attach-disk",
  summary: "attach disk device",
  options: [
    DOMAIN_OPTION,
    {
      name: "source",
      kind: "string",
      positional: true,
      required: true,
      help: "source of disk device or name of network disk",
    },
    {
      name: "target",
      kind: "string",
      positional: true,
      required: true,
      help: "target of disk device",
    },
    { name: "targetbus", kind: "string", help: "target bus of disk device" },
    { name: "driver", kind: "string", help: "driver of disk device" },
    { name: "subdriver", kind: "string", help: "subdriver of disk device" },
    { name: "cache", kind: "string", help: "cache mode of disk device" },
    { name: "type", kind: "string", help: "target device type" },
    { name: "mode", kind: "string", help: "mode of device reading and writing" },
    { name: "sourcetype", kind: "string", help: "type of source (block|file|network)" },
    { name: "serial", kind: "string", help: "serial of disk device" },
    { name: "print-xml", kind: "bool", help: "print XML document rather than attach the disk" },
    ...DEVICE_SCOPE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const mode = args.text("mode");
    if (mode !== undefined && mode !== "readonly" && mode !== "shareable") {
      throw new ArgumentError(`No support for ${mode} in command 'attach-disk'`, "--mode");
    }
    const xml = diskXml({
      source: args.required("source"),
      target: args.required("target"),
      sourceType: args.text("sourcetype"),
      device: args.text("type"),
      targetBus: args.text("targetbus"),
      driver: args.text("driver"),
      subdriver: args.text("subdriver"),
      cache: args.text("cache"),
      mode,
      serial: args.text("serial"),
    });
    if (args.flag("print-xml")) {
      context.print(xml);
      return;
    }
    const scope = await deviceScope(context, args, reference, true);
    try {
      await context.client.changeDevice(reference, "attach", xml, scope);
    } catch (error) {
      throw new CommandFailure("Failed to attach disk", error);
    }
    context.printExtra("Disk attached successfully\n");
  },
};
