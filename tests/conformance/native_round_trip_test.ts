/**
 * Round trip over libvirt's QEMU corpus definitions, through every native format that converts
 * both ways (`xen-xl`, `xen-xm`, `vmware-vmx`, `bhyve-argv`), by the same table the API and
 * RPC use: XML → native → XML keeps every field the format can express (for Xen: name, UUID,
 * memory, vCPUs, guest type, boot order, disk targets/sources/read-only, NIC MACs and bridges,
 * graphics types, serial port types; the other formats name theirs below), and the report
 * names, per format, the elements it cannot carry and the definitions it refuses.
 *
 * A definition is given the format's hypervisor type first (`vmware`, `bhyve`), as a user
 * moving it would; the Xen formats take it as it is.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { NATIVE_FORMATS } from "../../actors/native_formats.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { withSerialPorts } from "../../drivers/xen/xen_format_common.ts";
import { corpusDir, exists } from "../support/environment.ts";

const FOLDER = `${corpusDir}/qemuxml2argv`;

/** What both Xen formats can express, as comparable values. */
function xenExpressible(definition: DomainDefinition, xm: boolean): Record<string, unknown> {
  const hvm = definition.os.type === "hvm";
  const devices = definition.devices;
  return {
    name: definition.name,
    ...(definition.uuid === undefined ? {} : { uuid: definition.uuid }),
    memoryMiB: Math.ceil(definition.memoryKiB / 1024),
    vcpus: Math.max(definition.vcpus, 1),
    hvm,
    boot: hvm ? (definition.os.boot.length === 0 ? ["hd"] : definition.os.boot) : [],
    disks: devices.disks.filter((disk) => disk.device !== "floppy").map((disk) => ({
      dev: disk.target.dev,
      path: disk.source?.file ?? disk.source?.dev,
      readonly: disk.readonly === true || (xm === false && disk.device === "cdrom"),
    })),
    macs: devices.interfaces.map((net) => net.mac),
    bridges: devices.interfaces.map((net) => net.source?.bridge),
    // One framebuffer: SDL stays SDL, any other but SPICE is written as VNC (as libvirt does).
    graphics: devices.graphics.length === 1 && devices.graphics[0].type !== "spice"
      ? [devices.graphics[0].type === "sdl" ? "sdl" : "vnc"]
      : [],
    // The first serial port of each port number: the formats hold one device per port.
    serials: hvm ? firstOfEachPort(devices.serials) : [],
  };
}

function firstOfEachPort(serials: DomainDefinition["devices"]["serials"]): (string | undefined)[] {
  const numbered = withSerialPorts(serials);
  return numbered.filter((serial, index) =>
    numbered.findIndex((other) => other.target?.port === serial.target?.port) === index
  ).map((serial) => serial.type);
}

/** Device lists and top-level elements present before and absent after. */
function lost(before: DomainDefinition, after: DomainDefinition): string[] {
  const names: string[] = [];
  for (const [kind, list] of Object.entries(before.devices)) {
    if (!Array.isArray(list) || list.length === 0) continue;
    const again = (after.devices as unknown as Record<string, unknown[]>)[kind] ?? [];
    if (again.length < list.length) names.push(`devices/${kind}`);
  }
  for (
    const field of ["cputune", "numatune", "maxMemory", "iothreads", "metadata", "title"] as const
  ) {
    if (before[field] !== undefined && after[field] === undefined) names.push(field);
  }
  return names;
}

/** What a `.vmx` file carries of a definition, as comparable values. */
function vmxExpressible(definition: DomainDefinition): Record<string, unknown> {
  const devices = definition.devices;
  return {
    name: definition.name,
    ...(definition.uuid === undefined ? {} : { uuid: definition.uuid }),
    // `memsize` holds MiB in multiples of 4, rounded up (as libvirt writes it), of the memory
    // the definition has once defined (guest NUMA cells give their sum).
    memoryMiB: Math.ceil(applyDomainDefaults(definition).memoryKiB / 4096) * 4,
    vcpus: Math.max(definition.vcpus, 1),
    disks: devices.disks.map((disk) => ({
      device: disk.device ?? "disk",
      path: disk.source?.file ?? disk.source?.dev,
    })),
    macs: devices.interfaces.map((net) => net.mac?.toLowerCase()),
    serials: devices.serials.map((serial) => serial.type),
  };
}

/**
 * What `bhyve` and loader command lines carry of a definition, as comparable values. No UUID:
 * libvirt 9.0 writes no `-U` (it reads one back when given).
 */
function bhyveExpressible(definition: DomainDefinition): Record<string, unknown> {
  const devices = definition.devices;
  return {
    name: definition.name,
    memoryMiB: Math.ceil(definition.memoryKiB / 1024),
    vcpus: Math.max(definition.vcpus, 1),
    disks: devices.disks.map((disk) => disk.source?.file ?? disk.source?.dev),
    macs: devices.interfaces.map((net) => net.mac?.toLowerCase()),
  };
}

interface RoundTrip {
  name: string;
  /** The hypervisor type a definition is given before it is converted, if any. */
  type?: string;
  expressible(definition: DomainDefinition): Record<string, unknown>;
}

const FORMATS: RoundTrip[] = [
  { name: "xen-xl", expressible: (definition) => xenExpressible(definition, false) },
  { name: "xen-xm", expressible: (definition) => xenExpressible(definition, true) },
  { name: "vmware-vmx", type: "vmware", expressible: vmxExpressible },
  { name: "bhyve-argv", type: "bhyve", expressible: bhyveExpressible },
];

for (const format of FORMATS) {
  const native = NATIVE_FORMATS.get(format.name);
  const to = native?.toNative;
  const from = native?.fromNative;
  if (to === undefined || from === undefined) throw new Error(`${format.name} converts both ways`);
  Deno.test({
    name: `${format.name}: XML → native → XML keeps what the format expresses (QEMU corpus)`,
    ignore: !exists(FOLDER),
    fn() {
      let converted = 0;
      const refused = new Map<string, number>();
      const cannotCarry = new Map<string, number>();
      const changed: string[] = [];
      for (const entry of [...Deno.readDirSync(FOLDER)].sort((a, b) => a.name < b.name ? -1 : 1)) {
        if (!entry.name.endsWith(".xml")) continue;
        let original: DomainDefinition;
        try {
          original = parseDomainXml(Deno.readTextFileSync(`${FOLDER}/${entry.name}`));
        } catch {
          continue;
        }
        if (format.type !== undefined) original = { ...original, type: format.type };
        let text: string;
        try {
          text = to(original);
        } catch (error) {
          const reason = (error as Error).message.replace(/'[^']*'/g, "'…'");
          refused.set(reason, (refused.get(reason) ?? 0) + 1);
          continue;
        }
        let back: DomainDefinition;
        try {
          back = from(text);
        } catch (error) {
          // libvirt writes some files it cannot read back (an xm HVM guest without a loader).
          const reason = `read back: ${(error as Error).message.replace(/'[^']*'/g, "'…'")}`;
          refused.set(reason, (refused.get(reason) ?? 0) + 1);
          continue;
        }
        converted++;
        const [wanted, got] = [format.expressible(original), format.expressible(back)];
        // A definition without a UUID is given a random one on the way (as libvirt's parse does).
        if (wanted.uuid === undefined) delete got.uuid;
        try {
          assert.deepEqual(got, wanted);
        } catch {
          const field = Object.keys(wanted).find((key) =>
            JSON.stringify(wanted[key]) !== JSON.stringify(got[key])
          );
          changed.push(
            `${entry.name}: ${field} ${JSON.stringify(got[field!])} instead of ${
              JSON.stringify(wanted[field!])
            }`,
          );
        }
        for (const name of lost(original, back)) {
          cannotCarry.set(name, (cannotCarry.get(name) ?? 0) + 1);
        }
      }
      console.log(
        `${format.name}: ${converted} definitions converted and read back, ${
          [...refused.values()].reduce((sum, count) => sum + count, 0)
        } refused`,
      );
      for (const [reason, count] of [...refused].sort((a, b) => b[1] - a[1])) {
        console.log(`  refused ${count}×: ${reason}`);
      }
      console.log(
        `  cannot carry: ${
          [...cannotCarry].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} (${count})`)
            .join(", ")
        }`,
      );
      assert.ok(converted > 0, "some definitions convert");
      assert.deepEqual(changed, [], "expressible fields survive the round trip");
    },
  });
}
