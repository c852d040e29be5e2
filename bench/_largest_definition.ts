/**
 * The largest definition evirt accepts for the QEMU driver, for the define-load bench: every
 * device kind the QEMU driver runs in numbers at or near its limit in src/model/device_limits.ts,
 * a name of the longest length, and a description filling the body up to the size limit.
 *
 * @module
 */

import { type PaddingKind, paddingText } from "./_padding.ts";
import { DEVICE_COUNT_LIMITS } from "../src/model/device_limits.ts";
import { DOMAIN_NAME_MAX_BYTES } from "../src/xml/validate_name.ts";

/** `vd` + a, b, …, z, aa, ab, …: libvirt's disk target names by index. */
function diskTarget(prefix: string, index: number): string {
  let letters = "";
  for (let rest = index + 1; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    letters = String.fromCharCode(97 + ((rest - 1) % 26)) + letters;
  }
  return prefix + letters;
}

/** The virtio NICs a q35 guest holds beside the other devices of this definition. */
const Q35_NICS_BESIDE_THE_REST = 187;

/** The devices part: counts per kind, each at its limit where the QEMU driver can place them. */
export function largestDevices(): { xml: string; count: number } {
  const parts: string[] = [];
  const add = (count: number, make: (index: number) => string) => {
    for (let index = 0; index < count; index++) parts.push(make(index));
  };
  const limit = (list: keyof typeof DEVICE_COUNT_LIMITS) => DEVICE_COUNT_LIMITS[list].countMax;
  add(
    limit("disks"),
    (index) =>
      `<disk type='file' device='disk'><driver name='qemu' type='raw'/>` +
      `<source file='/var/lib/evirt/images/disk${index}.img'/>` +
      `<target dev='${diskTarget("sd", index)}' bus='scsi'/></disk>`,
  );
  add(8, (index) => `<controller type='scsi' index='${index}' model='virtio-scsi'/>`);
  // 31 ports each (port 0 is for consoles): 9 controllers hold the most channels.
  add(9, (index) => `<controller type='virtio-serial' index='${index}' ports='31'/>`);
  // Each virtio NIC takes a pcie-root-port of its own on q35, and pcie-root holds only so many
  // ports beside the other devices here: one NIC more and libvirt 9.0 refuses the definition, as
  // evirt's define-time completion does (tests/integration/pci_capacity_libvirt_test.ts).
  add(
    Math.min(limit("interfaces"), Q35_NICS_BESIDE_THE_REST),
    (index) =>
      `<interface type='user'><mac address='52:54:00:00:${
        (index >> 8).toString(16).padStart(2, "0")
      }:${(index & 255).toString(16).padStart(2, "0")}'/><model type='virtio'/></interface>`,
  );
  add(limit("serials"), () => `<serial type='null'/>`);
  add(
    limit("channels"),
    (index) =>
      `<channel type='pty'><target type='virtio' name='org.example.channel.${index}'/></channel>`,
  );
  add(limit("inputs"), () => `<input type='tablet' bus='usb'/>`);
  add(
    limit("rngs"),
    () => `<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>`,
  );
  return { xml: parts.join(""), count: parts.length };
}

/**
 * The whole document with a name of {@linkcode DOMAIN_NAME_MAX_BYTES}: `targetBytes` long (pass
 * the service's body limit) with a description filling the rest (`padding`: see bench/_padding.ts),
 * or without description when `targetBytes` is 0 (the largest by devices alone).
 */
export function largestDefinitionXml(
  targetBytes: number,
  uuid: string,
  padding: PaddingKind = "letter",
): string {
  const devices = largestDevices().xml;
  const name = "n".repeat(DOMAIN_NAME_MAX_BYTES);
  const head = `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid>` +
    `<description>`;
  const tail = `</description><memory unit='MiB'>256</memory><vcpu>2</vcpu>` +
    `<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`;
  if (targetBytes === 0) {
    return head.replace("<description>", "") + tail.replace("</description>", "");
  }
  const fill = targetBytes - head.length - tail.length;
  if (fill < 0) throw new Error(`The devices alone take more than ${targetBytes} bytes`);
  return head + paddingText(padding, fill, 0, "d") + tail;
}
