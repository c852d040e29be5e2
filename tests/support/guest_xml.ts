/**
 * The test guest as a libvirt domain XML of its own (not evirt's model): what the side-by-side
 * tests give both libvirtd and evirt, the guest's kernel and initrd copied into `dir` (a folder
 * libvirtd's QEMU can read). One builder for the shapes those tests need: a raw or qcow2 disk, a
 * serial log, ACPI, `on_poweroff`.
 *
 * @module
 */

import { GUEST_KERNEL_CMDLINE_DEFAULT } from "./guest.ts";

/** What {@linkcode guestDomainXml} puts in the domain beside the kernel and initrd. */
export interface GuestXmlOptions {
  name: string;
  /** The folder with `vmlinux` and `initrd.gz`. */
  dir: string;
  uuid?: string;
  /** Default {@linkcode GUEST_KERNEL_CMDLINE_DEFAULT}. */
  cmdline?: string;
  /** `<features><acpi/></features>`. */
  acpi?: boolean;
  /** `<on_poweroff>`. */
  onPoweroff?: string;
  /** A virtio disk `vda`. */
  disk?: { path: string; format: "raw" | "qcow2" };
  /** A serial console written to a file; `append='on'` with `append`. */
  serial?: { path: string; append?: boolean };
}

/** The test guest's domain XML (QEMU, q35, 128 MiB, one vCPU, no balloon). */
export function guestDomainXml(options: GuestXmlOptions): string {
  const { name, dir } = options;
  const lines = [
    `<domain type='qemu'>`,
    `  <name>${name}</name>`,
    ...(options.uuid === undefined ? [] : [`  <uuid>${options.uuid}</uuid>`]),
    `  <memory unit='KiB'>131072</memory>`,
    `  <vcpu>1</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='q35'>hvm</type>`,
    `    <kernel>${dir}/vmlinux</kernel>`,
    `    <initrd>${dir}/initrd.gz</initrd>`,
    `    <cmdline>${options.cmdline ?? GUEST_KERNEL_CMDLINE_DEFAULT}</cmdline>`,
    `  </os>`,
    ...(options.acpi ? [`  <features><acpi/></features>`] : []),
    ...(options.onPoweroff === undefined
      ? []
      : [`  <on_poweroff>${options.onPoweroff}</on_poweroff>`]),
    `  <devices>`,
    ...(options.disk === undefined ? [] : [
      `    <disk type='file' device='disk'>`,
      `      <driver name='qemu' type='${options.disk.format}'/>`,
      `      <source file='${options.disk.path}'/>`,
      `      <target dev='vda' bus='virtio'/>`,
      `    </disk>`,
    ]),
    ...(options.serial === undefined ? [] : [
      `    <serial type='file'><source path='${options.serial.path}'${
        options.serial.append ? " append='on'" : ""
      }/><target port='0'/></serial>`,
    ]),
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `</domain>`,
  ];
  return `${lines.join("\n")}\n`;
}
