/**
 * libvirt's Xen configuration corpus (`xlconfigdata`, `xmconfigdata`): for every case libvirt's
 * own tests run, the conversion in the direction(s) libvirt tests equals libvirt's expected
 * file. Prints per folder: cases, equal, rejected as libvirt rejects, differing (listed).
 *
 * The case list and directions are libvirt 9.0's `xlconfigtest.c` / `xmconfigtest.c`; files
 * of the corpus that neither test names are counted as not libvirt cases.
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatDomainXml, parseDomainXml } from "../../src/xml/mod.ts";
import { NATIVE_FORMATS } from "../../actors/native_formats.ts";
import { NO_HOST } from "../../actors/native_conversion.ts";
import { corpusDir, exists } from "../support/environment.ts";
import { xmlDifference } from "./xml_corpus.ts";

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

interface FolderResult {
  cases: number;
  equal: number;
  rejected: number;
  differing: string[];
  notLibvirtCases: string[];
}

async function runFolder(folder: string, format: string, cases: Record<string, Direction>) {
  const converter = NATIVE_FORMATS.get(format);
  assert.ok(converter?.fromNative && converter.toNative, `${format} is registered`);
  const dir = `${corpusDir}/${folder}`;
  const result: FolderResult = {
    cases: 0,
    equal: 0,
    rejected: 0,
    differing: [],
    notLibvirtCases: [],
  };
  const present = new Set(
    [...Deno.readDirSync(dir)].map((entry) =>
      entry.name.replace(/^test-/, "").replace(/\.(cfg|xml)$/, "")
    ),
  );
  for (const name of [...present].sort()) {
    const direction = cases[name];
    if (direction === undefined) {
      result.notLibvirtCases.push(name);
      continue;
    }
    const cfgPath = `${dir}/test-${name}.cfg`;
    const xmlPath = `${dir}/test-${name}.xml`;
    if (!exists(cfgPath) || !exists(xmlPath)) {
      result.notLibvirtCases.push(name);
      continue;
    }
    const cfg = Deno.readTextFileSync(cfgPath);
    const xml = Deno.readTextFileSync(xmlPath).replaceAll(FIRMWARE_PLACEHOLDER, FIRMWARE_DIR);
    if (direction !== "to-native") {
      result.cases++;
      const id = `${name} (cfg → XML)`;
      try {
        const got = formatDomainXml(converter.fromNative(cfg), { inactive: true, secure: true });
        const difference = xmlDifference(xml, got);
        if (difference === undefined) result.equal++;
        else result.differing.push(`${id}: ${difference}`);
      } catch (error) {
        result.differing.push(`${id}: refused: ${(error as Error).message}`);
      }
    }
    if (direction !== "from-native") {
      result.cases++;
      const id = `${name} (XML → cfg)`;
      try {
        const got = await converter.toNative(parseDomainXml(xml), NO_HOST);
        if (got === cfg) result.equal++;
        else result.differing.push(`${id}: ${firstLineDifference(cfg, got)}`);
      } catch (error) {
        result.differing.push(`${id}: refused: ${(error as Error).message}`);
      }
    }
  }
  return result;
}

function firstLineDifference(expected: string, got: string): string {
  const wanted = expected.split("\n");
  const actual = got.split("\n");
  for (let index = 0; index < Math.max(wanted.length, actual.length); index++) {
    if (wanted[index] !== actual[index]) {
      return `line ${index + 1}: got '${actual[index] ?? "(end)"}', expected '${
        wanted[index] ?? "(end)"
      }'`;
    }
  }
  return "equal";
}

function report(folder: string, result: FolderResult): void {
  console.log(
    `${folder}: ${result.cases} cases, ${result.equal} equal, ${result.rejected} rejected as libvirt rejects, ${result.differing.length} differing`,
  );
  for (const line of result.differing) console.log(`  differs: ${line}`);
  if (result.notLibvirtCases.length > 0) {
    console.log(`  not libvirt test cases (skipped): ${result.notLibvirtCases.join(", ")}`);
  }
}

for (
  const [folder, format, cases] of [
    ["xlconfigdata", "xen-xl", XL_CASES],
    ["xmconfigdata", "xen-xm", XM_CASES],
  ] as const
) {
  const skip = exists(`${corpusDir}/${folder}`) ? undefined : `needs ${corpusDir}/${folder}`;
  if (skip !== undefined) console.log(`skipping ${folder}: ${skip}`);
  Deno.test({
    name: `${format}: every ${folder} case converts as libvirt 9.0 does`,
    ignore: skip !== undefined,
    async fn() {
      const result = await runFolder(folder, format, cases);
      report(folder, result);
      assert.ok(result.cases > 0, "the corpus holds libvirt cases");
      assert.deepEqual(result.differing, []);
    },
  });
}
