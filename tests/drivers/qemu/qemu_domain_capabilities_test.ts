import assert from "node:assert/strict";
import {
  archOfEmulator,
  domainCapabilitiesOf,
  guestOf,
  parseQmpReport,
} from "../../../drivers/qemu/qemu_domain_capabilities.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { domainCapabilitiesXml } from "../../../src/xml/capabilities_xml.ts";

// A QMP transcript as QEMU 7.2 answers the probe's commands, cut to a few entries.
const TRANSCRIPT = [
  { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 } }, capabilities: [] } },
  { return: {} },
  {
    return: [
      { name: "pc-q35-7.2", alias: "q35", "cpu-max": 288, deprecated: false },
      { name: "pc-i440fx-7.2", alias: "pc", "is-default": true, "cpu-max": 255 },
      { name: "none", "cpu-max": 1 },
    ],
  },
  {
    return: [
      { name: "qemu64", "unavailable-features": [], deprecated: false },
      { name: "Skylake-Client", "unavailable-features": ["pcid"], deprecated: false },
      { name: "Skylake-Client-v2", "unavailable-features": ["pcid"], deprecated: false },
      { name: "max", "unavailable-features": [], deprecated: false },
    ],
  },
  {
    return: [{ name: "virtio-blk-pci" }, { name: "ide-hd" }, { name: "VGA" }, {
      name: "vmcoreinfo",
    }],
  },
  { return: {} },
  { timestamp: { seconds: 1, microseconds: 0 }, event: "SHUTDOWN", data: {} },
].map((line) => JSON.stringify(line)).join("\n");

const PATH = "/usr/bin/qemu-system-x86_64";
const report = parseQmpReport(PATH, TRANSCRIPT);

function refusal(run: () => unknown): { code: number; message: string } {
  try {
    run();
  } catch (error) {
    assert.ok(isVirtError(error), String(error));
    return { code: error.code, message: error.message };
  }
  throw new Error("not refused");
}

Deno.test("parseQmpReport reads machines, CPU models and device types, skipping 'none'", () => {
  assert.equal(report.arch, "x86_64");
  assert.deepEqual(report.machines.map((machine) => machine.name), ["pc-q35-7.2", "pc-i440fx-7.2"]);
  assert.equal(report.cpuModels.find((model) => model.name === "Skylake-Client")?.usable, "no");
  assert.equal(report.cpuModels.find((model) => model.name === "qemu64")?.usable, "yes");
  assert.ok(report.devices.has("VGA"));
});

Deno.test("parseQmpReport refuses a transcript without the answers, or with an error", () => {
  assert.equal(refusal(() => parseQmpReport(PATH, '{"return": {}}')).code, 1);
  assert.match(
    refusal(() => parseQmpReport(PATH, '{"error": {"desc": "boom"}}')).message,
    /boom/,
  );
});

Deno.test("archOfEmulator uses libvirt's names", () => {
  assert.equal(archOfEmulator("/usr/bin/qemu-system-i386"), "i686");
  assert.equal(archOfEmulator("/usr/bin/qemu-system-aarch64"), "aarch64");
  assert.equal(archOfEmulator("/usr/bin/kvm"), undefined);
});

Deno.test("domainCapabilitiesOf: the default machine, an alias resolved, its vCPU maximum", () => {
  const plain = domainCapabilitiesOf(report, {}, false);
  assert.equal(plain.machine, "pc-i440fx-7.2");
  assert.equal(plain.domain, "qemu");
  assert.equal(plain.vcpuMax, 255);
  const q35 = domainCapabilitiesOf(report, { machine: "q35" }, false);
  assert.equal(q35.machine, "pc-q35-7.2");
  assert.equal(q35.vcpuMax, 288);
  const bus = (caps: typeof plain) =>
    caps.devices.find((device) => device.name === "disk")!.enums
      .find((entry) => entry.name === "bus")!.values;
  assert.deepEqual(bus(plain), ["ide", "virtio"]);
  assert.deepEqual(bus(q35), ["virtio"]);
  assert.deepEqual(plain.cpu.models.map((model) => model.name), ["qemu64", "Skylake-Client"]);
  assert.equal(plain.cpu.hostModel, false);
  assert.equal(domainCapabilitiesOf(report, {}, true).domain, "kvm");
  assert.equal(domainCapabilitiesOf(report, {}, true).cpu.hostPassthrough, true);
});

Deno.test("domainCapabilitiesOf refuses what libvirt refuses, with its messages", () => {
  assert.deepEqual(refusal(() => domainCapabilitiesOf(report, { machine: "bogus" }, false)), {
    code: 8,
    message: `the machine 'bogus' is not supported by emulator '${PATH}'`,
  });
  assert.deepEqual(refusal(() => domainCapabilitiesOf(report, { virttype: "kvm" }, false)), {
    code: 8,
    message: `the accel 'kvm' is not supported by '${PATH}' on this host`,
  });
  assert.deepEqual(refusal(() => domainCapabilitiesOf(report, { arch: "i686" }, false)), {
    code: 8,
    message: `Emulator '${PATH}' does not support arch 'i686'`,
  });
});

Deno.test("guestOf lists each machine and its alias with the canonical name", () => {
  const guest = guestOf(report, false);
  assert.deepEqual(guest.machines.slice(0, 2), [
    { name: "pc-q35-7.2", maxCpus: 288 },
    { name: "q35", canonical: "pc-q35-7.2", maxCpus: 288 },
  ]);
  assert.deepEqual(guest.domainTypes, ["qemu"]);
  assert.equal(guest.wordsize, 64);
});

Deno.test("domainCapabilitiesXml writes libvirt's element order and enums", () => {
  const xml = domainCapabilitiesXml(domainCapabilitiesOf(report, {}, false));
  const order = [...xml.matchAll(/^ {2}<([a-zA-Z]+)/gm)].map((match) => match[1]);
  assert.deepEqual(order, [
    "path",
    "domain",
    "machine",
    "arch",
    "vcpu",
    "iothreads",
    "os",
    "cpu",
    "memoryBacking",
    "devices",
    "features",
  ]);
  assert.match(xml, /<vcpu max='255'\/>/);
  assert.match(xml, /<model usable='no'>Skylake-Client<\/model>/);
  assert.match(xml, /<hostdev supported='no'\/>/);
  assert.match(xml, /<vmcoreinfo supported='yes'\/>/);
});
