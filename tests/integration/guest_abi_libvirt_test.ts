/**
 * The same definition defined in libvirt 9.0 (`virsh -c qemu:///system define`) and in evirt's
 * host with the QEMU driver gives the same persistent XML (`dumpxml --inactive`): versioned
 * machine type, emulator, default CPU, implicit controllers and devices, PCI addresses (root
 * ports and spare ports on q35, bridges on i440fx), drive, USB and virtio-serial addresses.
 * Only the generated uuid differs. The definitions are virt-install-style q35 and i440fx guests
 * (disk, cdrom, NIC, serial console, VNC, guest agent channel, balloon, RNG), minimal ones,
 * legacy devices (IDE, SCSI, e1000, USB tablet, ich9 sound, watchdog), 32 NICs (a bridge), and
 * explicit addresses and root ports that must be kept. A guest started in both (paused) shows
 * the same device aliases in its live XML. Each libvirt domain has a unique `abi13-` name and
 * is destroyed and undefined afterwards. Device kinds evirt keeps verbatim (vsock, iommu, panic,
 * lease, redirfilter; its QEMU driver refuses to run them) written out of libvirt's order stand
 * where libvirt puts them, with the same PCI addresses.
 */

import assert from "node:assert/strict";
import { completeQemuDefinition } from "../../drivers/qemu/definition_completion.ts";
import { CapabilityCache } from "../../drivers/qemu/qemu_capabilities.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { Host } from "../../actors/host.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../../src/xml/mod.ts";
import { runChild } from "../support/child_process.ts";
import { missing, repoDir, testIf } from "../support/environment.ts";
import { withTempDir } from "../support/temp_dir.ts";

/** Longest one virsh call may take, in ms. */
const VIRSH_TIMEOUT_MS = 30_000;
const URI = "qemu:///system";
const CASES_DIR = `${repoDir}/tests/integration/guest_abi`;
const CASES = [
  "q35_virt_install",
  "i440fx_virt_install",
  "minimal",
  "i440fx_legacy_devices",
  "q35_legacy_devices",
  "i440fx_bridge",
  "q35_explicit",
  "q35_live",
];

async function libvirtAnswers(): Promise<string | undefined> {
  const absent = missing("virsh", "qemu-system-x86_64");
  if (absent !== undefined) return absent;
  const run = await runChild("virsh", ["-c", URI, "uri"], {}, VIRSH_TIMEOUT_MS);
  return run.code === 0 ? undefined : `libvirtd does not answer on ${URI}`;
}

const skip = await libvirtAnswers();

async function virsh(...args: string[]): Promise<string> {
  const run = await runChild("virsh", ["-c", URI, ...args], {}, VIRSH_TIMEOUT_MS);
  assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

/** The persistent XML libvirt keeps for `xml` (defined under `name`, then undefined). */
async function libvirtPersistentXml(dir: string, name: string, xml: string): Promise<string> {
  const path = `${dir}/${name}.xml`;
  await Deno.writeTextFile(path, xml);
  await virsh("define", path);
  try {
    return await virsh("dumpxml", "--inactive", name);
  } finally {
    await virsh("undefine", name);
  }
}

function withoutUuid(xml: string): string {
  return xml.split("\n").filter((line) => !line.includes("<uuid>")).join("\n").trim();
}

testIf(
  "define gives the persistent XML libvirt 9.0 gives for the same definitions",
  skip,
  async () => {
    await withTempDir("evirt-abi-", async (dir) => {
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      const host = await Host.open({
        store: createMemoryStore(),
        drivers: [driver],
        log: () => {},
      });
      const differences: string[] = [];
      try {
        for (const name of CASES) {
          const template = await Deno.readTextFile(`${CASES_DIR}/${name}.xml`);
          const domainName = `abi13-${name.replaceAll("_", "-")}-${Deno.pid}`;
          const xml = template.replaceAll("NAME", domainName);
          const expected = await libvirtPersistentXml(dir, domainName, xml);
          const definition = applyDomainDefaults(parseDomainXml(xml));
          validateDomain(definition);
          await host.define(definition);
          const persistent = host.inspect(domainName).persistentDefinition;
          assert.ok(persistent !== null);
          const actual = formatDomainXml(persistent, { inactive: true });
          if (withoutUuid(actual) !== withoutUuid(expected)) {
            differences.push(`${name}:\n--- evirt\n${actual}\n--- libvirt\n${expected}`);
          }
        }
      } finally {
        await host.close();
      }
      assert.deepEqual(differences, []);
    }, { searchable: true });
  },
);

/** Definitions that need no host files, so QEMU can start them with their completed ABI. */
const STARTABLE = ["minimal", "i440fx_bridge"];
const STARTABLE_Q35 = `<domain type='qemu'>
  <name>abi13-start-q35</name>
  <memory unit='KiB'>262144</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <interface type='user'><mac address='52:54:00:00:02:01'/><model type='virtio'/></interface>
    <interface type='user'><mac address='52:54:00:00:02:02'/><model type='e1000'/></interface>
    <console type='pty'/>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <input type='tablet' bus='usb'/>
    <sound model='ich9'/>
    <watchdog model='i6300esb'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>`;

testIf(
  "QEMU starts completed definitions with root ports, bridges and fixed slots",
  missing("qemu-system-x86_64", "flock"),
  async () => {
    await withTempDir("evirt-abi-start-", async (dir) => {
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      const host = await Host.open({
        store: createMemoryStore(),
        drivers: [driver],
        log: () => {},
      });
      try {
        const texts = [
          ...await Promise.all(
            STARTABLE.map((name) => Deno.readTextFile(`${CASES_DIR}/${name}.xml`)),
          ),
          STARTABLE_Q35,
        ];
        for (const [index, text] of texts.entries()) {
          const name = `abi13-start-${index}`;
          const definition = applyDomainDefaults(
            parseDomainXml(text.replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`)),
          );
          validateDomain(definition);
          await host.define(definition);
          await host.start(name, { paused: true });
          try {
            assert.equal(host.lookup(name).state, 3, `${name} runs (paused)`);
          } finally {
            await host.destroy(name);
          }
        }
      } finally {
        await host.close();
      }
    }, { searchable: true });
  },
);

/** The `<alias name>` values of a domain XML, in document order. */
function aliasesOf(xml: string): string[] {
  return [...xml.matchAll(/<alias name='([^']*)'\/>/g)].map((match) => match[1]);
}

testIf(
  "a started guest's live XML names its devices with libvirt 9.0's aliases",
  skip ?? missing("flock"),
  async () => {
    await withTempDir("evirt-abi-live-", async (dir) => {
      const domainName = `abi13-live-${Deno.pid}`;
      const xml = (await Deno.readTextFile(`${CASES_DIR}/q35_live.xml`)).replaceAll(
        "NAME",
        domainName,
      );
      const path = `${dir}/${domainName}.xml`;
      await Deno.writeTextFile(path, xml);
      await virsh("define", path);
      let expected: string;
      try {
        await virsh("start", "--paused", domainName);
        try {
          expected = await virsh("dumpxml", domainName);
        } finally {
          await virsh("destroy", domainName);
        }
      } finally {
        await virsh("undefine", domainName);
      }
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      const host = await Host.open({
        store: createMemoryStore(),
        drivers: [driver],
        log: () => {},
      });
      try {
        const definition = applyDomainDefaults(parseDomainXml(xml));
        validateDomain(definition);
        await host.define(definition);
        await host.start(domainName, { paused: true });
        try {
          const live = host.inspect(domainName).definition;
          assert.deepEqual(aliasesOf(formatDomainXml(live)), aliasesOf(expected));
        } finally {
          await host.destroy(domainName);
        }
      } finally {
        await host.close();
      }
    }, { searchable: true });
  },
);

testIf(
  "a definition recorded before completion runs with libvirt's placement and aliases",
  missing("qemu-system-x86_64"),
  async () => {
    await withTempDir("evirt-abi-legacy-", async (dir) => {
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      try {
        const xml = (await Deno.readTextFile(`${CASES_DIR}/q35_virt_install.xml`))
          .replaceAll("NAME", "abi13-legacy");
        const recorded = applyDomainDefaults(parseDomainXml(xml));
        const live = driver.instanceDefinition(recorded);
        assert.equal(live.os.machine, "pc-q35-7.2");
        const nic = live.devices.interfaces[0];
        assert.deepEqual([nic.alias, nic.address?.bus, nic.address?.slot], ["net0", 1, 0]);
        assert.equal(live.devices.disks[0].alias, "virtio-disk0");
        assert.deepEqual(driver.instanceDefinition(live), live);
      } finally {
        await driver.close();
      }
    }, { searchable: true });
  },
);

/** Device kinds evirt keeps verbatim, written out of libvirt's order, with typed devices. */
const KEPT_KINDS = `<domain type='qemu'>
  <name>NAME</name>
  <memory unit='KiB'>219136</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <vsock model='virtio-transitional'><cid auto='no' address='4'/></vsock>
    <iommu model='intel'/>
    <panic model='isa'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <redirfilter><usbdev allow='yes'/></redirfilter>
    <lease><lockspace>a</lockspace><key>b</key><target path='/l'/></lease>
    <watchdog model='i6300esb'/>
    <memballoon model='virtio'/>
    <interface type='user'><mac address='52:54:00:00:03:01'/><model type='virtio'/></interface>
  </devices>
</domain>`;

/** The names of the elements directly under `<devices>`, in order. */
function deviceKinds(xml: string): string[] {
  const devices = xml.slice(xml.indexOf("<devices>"), xml.indexOf("</devices>"));
  return [...devices.matchAll(/^ {4}<([a-z-]+)/gm)].map((match) => match[1]);
}

testIf(
  "device kinds kept verbatim stand where libvirt 9.0 puts them, with the same PCI slots",
  skip,
  async () => {
    await withTempDir("evirt-abi-kept-", async (dir) => {
      const domainName = `abi13-kept-${Deno.pid}`;
      const xml = KEPT_KINDS.replaceAll("NAME", domainName);
      const expected = await libvirtPersistentXml(dir, domainName, xml);
      const capabilities = await new CapabilityCache().get("qemu-system-x86_64");
      const completed = completeQemuDefinition(
        applyDomainDefaults(parseDomainXml(xml)),
        capabilities.machines,
        capabilities.path,
      );
      const actual = formatDomainXml(completed, { inactive: true });
      assert.deepEqual(deviceKinds(actual), deviceKinds(expected));
      const slots = (text: string) => [...text.matchAll(/<address type='pci'[^>]*>/g)].map(String);
      assert.deepEqual(slots(actual), slots(expected));
    }, { searchable: true });
  },
);
