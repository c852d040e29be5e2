/**
 * What the device verbs share (`attach-device`, `detach-device`, `update-device`, `attach-disk`,
 * `detach-disk`, `change-media`): virsh's `--persistent`, `--config`, `--live`, `--current`
 * with its exclusions, and finding a disk of the domain's XML by target or source path.
 *
 * @module
 */

import type { XmlElement } from "../model/xml_extra.ts";
import { ArgumentError, type OptionSpec, type VerbArguments } from "./arguments.ts";
import type { VerbContext } from "./verb.ts";

/** The four scope options, in virsh's order. */
export const DEVICE_SCOPE_OPTIONS: readonly OptionSpec[] = [
  { name: "persistent", kind: "bool", help: "make live change persistent" },
  { name: "config", kind: "bool", help: "affect next boot" },
  { name: "live", kind: "bool", help: "affect running domain" },
  { name: "current", kind: "bool", help: "affect current domain" },
];

/** The scope sent to the service: `live` / `config` set, or neither for the current state. */
export interface DeviceScope {
  live?: boolean;
  config?: boolean;
  /** virsh's call without flags (the running guest; errors name the API without `Flags`). */
  legacy?: boolean;
}

/**
 * The scope virsh would send. With no option at all, virsh calls the API without flags, which
 * acts on the running guest (`legacyLive`: attach and detach); update calls always carry flags,
 * so no option there means the current state.
 *
 * @throws {ArgumentError} For `--current` with another scope option.
 */
export async function deviceScope(
  context: VerbContext,
  args: VerbArguments,
  reference: string,
  legacyLive: boolean,
): Promise<DeviceScope> {
  for (const other of ["persistent", "live", "config"]) {
    if (args.flag("current") && args.flag(other)) {
      throw new ArgumentError(
        `Options --current and --${other} are mutually exclusive`,
        "--current",
      );
    }
  }
  let live = args.flag("live");
  let config = args.flag("config");
  if (args.flag("persistent")) {
    config = true;
    if ((await context.client.info(reference)).active) live = true;
  }
  if (!live && !config && !args.flag("current") && legacyLive) return { legacy: true };
  return { ...(live ? { live: true } : {}), ...(config ? { config: true } : {}) };
}

/** Whether a disk element is a cdrom or floppy (the ones `change-media` changes). */
function isRemovable(disk: XmlElement): boolean {
  const device = disk.attributes?.device;
  return device === "cdrom" || device === "floppy";
}

/** The first child element of `element` named `name`, if any. */
export function childOf(element: XmlElement, name: string): XmlElement | undefined {
  return element.children?.find((child): child is XmlElement =>
    typeof child !== "string" && child.name === name
  );
}

/** A disk element as XML text (the XML writer is loaded when first needed). */
export async function elementXml(element: XmlElement): Promise<string> {
  const { writeXml } = await import("../xml/xml_writer.ts");
  return writeXml(element);
}

/** The source path a disk element names (`file`, `dev`, `dir` or `name`), if any. */
export function diskSourcePath(disk: XmlElement): string | undefined {
  const source = childOf(disk, "source")?.attributes;
  return source?.file ?? source?.dev ?? source?.dir ?? source?.name;
}

/**
 * The disk of the domain's XML (live, or inactive with `config` alone) whose target or source
 * path is `name`, as virsh finds it.
 *
 * @throws {ArgumentError} `No disk found whose source path or target is …`.
 */
export async function findDisk(
  context: VerbContext,
  reference: string,
  name: string,
  scope: DeviceScope,
  removableOnly: boolean,
): Promise<XmlElement> {
  const inactive = scope.config === true && scope.live !== true;
  const disks = await domainDevices(context, reference, inactive, "disk");
  const found = disks.find((disk) =>
    (!removableOnly || isRemovable(disk)) &&
    (childOf(disk, "target")?.attributes?.dev === name || diskSourcePath(disk) === name)
  );
  if (found === undefined) {
    throw new ArgumentError(`No disk found whose source path or target is ${name}`, name);
  }
  return found;
}

/** The device elements named `name` (`disk`, `interface`) of the domain's XML (live or inactive). */
export async function domainDevices(
  context: VerbContext,
  reference: string,
  inactive: boolean,
  name: string,
): Promise<XmlElement[]> {
  // Loaded here, not at startup: the CLI's verbs import no XML code until one needs it.
  const { readXml } = await import("../xml/xml_reader.ts");
  const domain = readXml(await context.client.xml(reference, { inactive }));
  const devices = childOf(domain, "devices");
  return (devices?.children ?? []).filter((child): child is XmlElement =>
    typeof child !== "string" && child.name === name
  );
}
