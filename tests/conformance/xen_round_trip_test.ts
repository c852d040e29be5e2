/**
 * Round trip over libvirt's QEMU corpus definitions: XML → `xl.cfg`/`xm` → XML keeps every
 * field the native format can express (name, UUID, memory, vCPUs, guest type, boot order, disk
 * targets/sources/read-only, NIC MACs and bridges, graphics types, serial port types), and the
 * report names, per format, the elements it cannot carry and the definitions it refuses.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { xlToDefinition } from "../../drivers/xen/xl_parse.ts";
import { definitionToXl } from "../../drivers/xen/xl_format.ts";
import { xmToDefinition } from "../../drivers/xen/xm_parse.ts";
import { definitionToXm } from "../../drivers/xen/xm_format.ts";
import { withSerialPorts } from "../../drivers/xen/xen_format_common.ts";
import { corpusDir, exists } from "../support/environment.ts";

const FOLDER = `${corpusDir}/qemuxml2argv`;

/** What both Xen formats can express, as comparable values. */
function expressible(definition: DomainDefinition, xm: boolean): Record<string, unknown> {
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

const FORMATS = [
  { name: "xen-xl", to: definitionToXl, from: xlToDefinition, xm: false },
  { name: "xen-xm", to: definitionToXm, from: xmToDefinition, xm: true },
];

for (const format of FORMATS) {
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
        let native: string;
        try {
          native = format.to(original);
        } catch (error) {
          const reason = (error as Error).message.replace(/'[^']*'/g, "'…'");
          refused.set(reason, (refused.get(reason) ?? 0) + 1);
          continue;
        }
        let back: DomainDefinition;
        try {
          back = format.from(native);
        } catch (error) {
          // libvirt writes some files it cannot read back (an xm HVM guest without a loader).
          const reason = `read back: ${(error as Error).message.replace(/'[^']*'/g, "'…'")}`;
          refused.set(reason, (refused.get(reason) ?? 0) + 1);
          continue;
        }
        converted++;
        const [wanted, got] = [expressible(original, format.xm), expressible(back, format.xm)];
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
