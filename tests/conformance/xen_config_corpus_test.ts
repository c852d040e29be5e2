/**
 * libvirt's Xen configuration corpus (`xlconfigdata`, `xmconfigdata`): for every case libvirt's
 * own tests run, the conversion in the direction(s) libvirt tests equals libvirt's expected
 * file. Prints per folder and direction (the shared runner, native_corpus.ts): cases, equal,
 * rejected as libvirt rejects, differing (listed).
 *
 * The case list and directions are libvirt 9.0's `xlconfigtest.c` / `xmconfigtest.c`; files
 * of the corpus that neither test names are counted as not libvirt cases.
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatDomainXml, parseDomainXml } from "../../src/xml/mod.ts";
import { NATIVE_FORMATS } from "../../actors/native_formats.ts";
import { corpusDir, exists } from "../support/environment.ts";
import { xmlDifference } from "./xml_corpus.ts";
import { lineDifference, names, runCases } from "./native_corpus.ts";

type Direction = "both" | "to-native" | "from-native";

/** xlconfigtest.c: DO_TEST = both, DO_TEST_PARSE = XML → cfg, DO_TEST_FORMAT = cfg → XML. */
const XL_CASES: Record<string, Direction> = {
  "fullvirt-ovswitch-tagged": "both",
  "fullvirt-ovswitch-trunked": "both",
  "fullvirt-ovmf": "both",
  "paravirt-maxvcpus": "both",
  "new-disk": "both",
  "disk-positional-parms-full": "from-native",
  "disk-positional-parms-partial": "from-native",
  "disk-qed": "from-native",
  "net-fakemodel": "both",
  "spice": "both",
  "spice-features": "both",
  "vif-rate": "both",
  "fullvirt-nohap": "both",
  "fullvirt-hpet-timer": "both",
  "fullvirt-tsc-timer": "both",
  "fullvirt-multi-timer": "both",
  "fullvirt-nestedhvm": "both",
  "fullvirt-nestedhvm-disabled": "both",
  "fullvirt-cpuid": "both",
  "fullvirt-acpi-slic": "both",
  "fullvirt-pci": "both",
  "fullvirt-vnuma": "both",
  "fullvirt-vnuma-autocomplete": "to-native",
  "fullvirt-vnuma-nodistances": "to-native",
  "fullvirt-vnuma-partialdist": "to-native",
  "paravirt-cmdline": "both",
  "paravirt-cmdline-extra-root": "from-native",
  "paravirt-cmdline-bogus-extra-root": "from-native",
  "rbd-multihost-noauth": "both",
  "paravirt-type": "from-native",
  "fullvirt-type": "from-native",
  "pvh-type": "both",
  "channel-pty": "both",
  "channel-unix": "both",
  "fullvirt-multiserial": "both",
  "fullvirt-multiusb": "both",
  "fullvirt-direct-kernel-boot": "both",
  "fullvirt-direct-kernel-boot-extra": "from-native",
  "fullvirt-direct-kernel-boot-bogus-extra": "from-native",
  "max-gntframes": "both",
  "max-eventchannels": "both",
  "vif-typename": "both",
  "vif-multi-ip": "both",
  "usb": "both",
  "usbctrl": "both",
  "paravirt-e820_host": "both",
  "fullvirt-hypervisor-features": "both",
  "qemu-passthrough": "both",
};

/** xmconfigtest.c. */
const XM_CASES: Record<string, Direction> = {
  "paravirt-new-pvfb": "both",
  "paravirt-new-pvfb-vncdisplay": "both",
  "paravirt-net-e1000": "both",
  "paravirt-net-fakemodel": "both",
  "paravirt-net-vifname": "both",
  "paravirt-vcpu": "both",
  "paravirt-maxvcpus": "both",
  "paravirt-root": "from-native",
  "paravirt-extra-root": "from-native",
  "fullvirt-new-cdrom": "both",
  "fullvirt-utc": "both",
  "fullvirt-localtime": "both",
  "fullvirt-usbtablet": "both",
  "fullvirt-usbmouse": "both",
  "fullvirt-serial-file": "both",
  "fullvirt-serial-null": "both",
  "fullvirt-serial-pipe": "both",
  "fullvirt-serial-pty": "both",
  "fullvirt-serial-stdio": "both",
  "fullvirt-serial-tcp": "both",
  "fullvirt-serial-tcp-telnet": "both",
  "fullvirt-serial-udp": "both",
  "fullvirt-serial-unix": "both",
  "fullvirt-force-hpet": "both",
  "fullvirt-force-nohpet": "both",
  "fullvirt-nohap": "both",
  "fullvirt-parallel-tcp": "both",
  "fullvirt-sound": "both",
  "fullvirt-net-netfront": "both",
  "fullvirt-default-feature": "from-native",
  "escape-paths": "both",
  "no-source-cdrom": "both",
  "pci-devs": "both",
  "pci-dev-syntax": "from-native",
  "disk-drv-blktap-raw": "both",
  "disk-drv-blktap2-raw": "both",
};

/** libvirt's test substitutes its build's firmware folder into this placeholder. */
const FIRMWARE_PLACEHOLDER = "/LIBXL_FIRMWARE_DIR";
const FIRMWARE_DIR = "/usr/lib/xen/boot";

/** The case names of `folder` libvirt's test runs (a .cfg and a .xml) and those it does not. */
function caseNames(folder: string, cases: Record<string, Direction>): [string[], string[]] {
  const stems = [...new Set([...names(folder, ".cfg"), ...names(folder, ".xml")])].sort()
    .map((stem) => stem.replace(/^test-/, ""));
  const run = stems.filter((name) =>
    cases[name] !== undefined && exists(`${folder}/test-${name}.cfg`) &&
    exists(`${folder}/test-${name}.xml`)
  );
  return [run, stems.filter((name) => !run.includes(name))];
}

for (
  const [folderName, format, cases] of [
    ["xlconfigdata", "xen-xl", XL_CASES],
    ["xmconfigdata", "xen-xm", XM_CASES],
  ] as const
) {
  const folder = `${corpusDir}/${folderName}`;
  const skip = exists(folder) ? undefined : `needs ${folder}`;
  if (skip !== undefined) console.log(`skipping ${folderName}: ${skip}`);
  Deno.test({
    name: `${format}: every ${folderName} case converts as libvirt 9.0 does`,
    ignore: skip !== undefined,
    fn() {
      const converter = NATIVE_FORMATS.get(format);
      assert.ok(converter?.fromNative && converter.toNative, `${format} is registered`);
      const [run, others] = caseNames(folder, cases);
      if (others.length > 0) {
        console.log(`${folderName}: not libvirt test cases: ${others.join(", ")}`);
      }
      const cfg = (name: string) => Deno.readTextFileSync(`${folder}/test-${name}.cfg`);
      const xml = (name: string) =>
        Deno.readTextFileSync(`${folder}/test-${name}.xml`).replaceAll(
          FIRMWARE_PLACEHOLDER,
          FIRMWARE_DIR,
        );
      const fromNative = runCases(
        `${folderName} ${format} → XML`,
        run.filter((name) => cases[name] !== "to-native"),
        xml,
        (name) =>
          formatDomainXml(converter.fromNative!(cfg(name)), { inactive: true, secure: true }),
        xmlDifference,
      );
      const toNative = runCases(
        `${folderName} XML → ${format}`,
        run.filter((name) => cases[name] !== "from-native"),
        cfg,
        (name) => converter.toNative!(parseDomainXml(xml(name))),
        lineDifference,
      );
      assert.ok(fromNative.cases + toNative.cases > 0, "the corpus holds libvirt cases");
      assert.deepEqual([...fromNative.differing, ...toNative.differing], []);
    },
  });
}
