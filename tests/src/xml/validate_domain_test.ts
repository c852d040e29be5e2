import assert from "node:assert/strict";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { VirtError } from "../../../src/model/errors.ts";
import { parseDomainXml, validateDomain } from "../../../src/xml/mod.ts";

const VALID = `<domain type='qemu'>
  <name>ok</name>
  <uuid>0d3c1c54-7b0e-4f5e-9f3a-3a6c2f0b9e11</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>
    <controller type='usb' index='0'/>
    <interface type='user'><mac address='52:54:00:00:00:01'/></interface>
  </devices>
</domain>`;

function valid(): DomainDefinition {
  return parseDomainXml(VALID);
}

function refusal(def: DomainDefinition, options = {}): VirtError {
  try {
    validateDomain(def, options);
  } catch (error) {
    assert.ok(error instanceof VirtError, `expected VirtError, got ${error}`);
    return error;
  }
  assert.fail("accepted");
}

Deno.test("validateDomain accepts a sound definition", () => {
  validateDomain(valid());
  validateDomain(valid(), { live: true });
});

Deno.test("validateDomain refuses a missing name, a name with '/' or a newline", () => {
  const def = valid();
  def.name = "";
  assert.deepStrictEqual([refusal(def).code, refusal(def).message, refusal(def).where], [
    21,
    "missing name information",
    "/domain/name",
  ]);
  def.name = "a/b";
  assert.equal(refusal(def).message, "name a/b cannot contain '/'");
  def.name = "a\nb";
  assert.deepStrictEqual([refusal(def).code, refusal(def).message], [
    35,
    "invalid char in name: \n",
  ]);
});

Deno.test("validateDomain refuses more devices of a kind than its limit, before other checks", () => {
  const def = valid();
  def.name = "";
  def.devices.serials = Array.from({ length: 33 }, () => ({ type: "null", sources: [] }));
  assert.deepStrictEqual([refusal(def).code, refusal(def).message, refusal(def).where], [
    67,
    "too many serial devices: 33, at most 32",
    "/domain/devices/serial[33]",
  ]);
});

Deno.test("validateDomain refuses a malformed uuid", () => {
  const def = valid();
  def.uuid = "not-a-uuid";
  assert.deepStrictEqual([refusal(def).code, refusal(def).where], [27, "/domain/uuid"]);
});

Deno.test("validateDomain refuses a definition without memory", () => {
  const def = valid();
  def.memoryKiB = 0;
  assert.match(refusal(def).message, /Memory size must be specified/);
});

Deno.test("validateDomain refuses maxMemory below memory and current vCPUs above the count", () => {
  const def = valid();
  def.maxMemory = { kib: 1024, slots: 4 };
  assert.equal(refusal(def).where, "/domain/maxMemory");
  const vcpu = valid();
  vcpu.vcpu = { current: 3 };
  assert.equal(refusal(vcpu).where, "/domain/vcpu");
});

Deno.test("validateDomain refuses duplicate disk targets, naming both sources", () => {
  const def = valid();
  def.devices.disks.push({
    type: "file",
    source: { file: "/b.img", hosts: [] },
    target: { dev: "vda" },
  });
  const error = refusal(def);
  assert.equal(error.message, "target 'vda' duplicated for disk sources '/a.img' and '/b.img'");
  assert.equal(error.where, "/domain/devices/disk[2]/target");
});

Deno.test("validateDomain refuses a PCI address used twice", () => {
  const def = valid();
  def.devices.disks[0].address = { type: "pci", domain: 0, bus: 0, slot: 5, function: 0 };
  def.devices.interfaces[0].address = { type: "pci", bus: 0, slot: 5 };
  const error = refusal(def);
  assert.equal(error.message, "Attempted double use of PCI Address 0000:00:05.0");
  assert.equal(error.where, "/domain/devices/interface[1]/address");
});

Deno.test("validateDomain refuses conflicting boot orders and boot orders mixed with <os><boot>", () => {
  const def = valid();
  def.devices.disks[0].boot = { order: 1 };
  def.devices.interfaces[0].boot = { order: 1 };
  assert.equal(refusal(def).where, "/domain/devices/interface[1]/boot");
  const mixed = valid();
  mixed.os.boot = ["hd"];
  mixed.devices.disks[0].boot = { order: 1 };
  assert.equal(refusal(mixed).code, 67);
});

Deno.test("validateDomain refuses a multicast or malformed MAC", () => {
  const def = valid();
  def.devices.interfaces[0].mac = "01:00:5e:00:00:01";
  assert.match(refusal(def).message, /expected unicast mac address/);
  def.devices.interfaces[0].mac = "52:54:00";
  assert.match(refusal(def).message, /unable to parse mac address/);
});

Deno.test("validateDomain refuses guest NUMA cells with gaps and memnodes without cells", () => {
  const def = valid();
  def.cpu = { features: [], numa: { cells: [{ id: 1, cpus: "0-1", memoryKiB: 524288 }] } };
  assert.match(refusal(def).message, /Exactly one 'cell' element/);
  const memnode = valid();
  memnode.numatune = { memnodes: [{ cellid: 0, mode: "strict", nodeset: "0" }] };
  assert.equal(
    refusal(memnode).message,
    "Element 'memnode' is invalid without any guest NUMA cells",
  );
});

Deno.test("validateDomain refuses huge pages for missing nodes, overlapping or two without nodes", () => {
  const withPages = (pages: string, cells = "") =>
    parseDomainXml(
      VALID.replace(
        "<vcpu>",
        `<memoryBacking><hugepages>${pages}</hugepages></memoryBacking><vcpu>`,
      ).replace(
        "</os>",
        `</os>${cells === "" ? "" : `<cpu><numa>${cells}</numa></cpu>`}`,
      ),
    );
  const twoCells = "<cell id='0' cpus='0' memory='262144'/><cell id='1' cpus='1' memory='262144'/>";
  // A lone page for node 0 of a guest without nodes is the page of all its memory.
  validateDomain(withPages("<page size='2048' nodeset='0'/>"));
  validateDomain(withPages("<page size='2048' nodeset='1'/><page size='1048576'/>", twoCells));
  const missing = refusal(withPages("<page size='2048' unit='KiB' nodeset='1'/>"));
  assert.equal(missing.message, "hugepages: node 1 not found");
  assert.equal(missing.where, "/domain/memoryBacking/hugepages/page[1]");
  assert.equal(missing.code, 35);
  assert.equal(
    refusal(
      withPages("<page size='2048' nodeset='0-1'/><page size='1048576' nodeset='1'/>", twoCells),
    )
      .message,
    "nodeset attribute of hugepages of sizes 1048576 and 2048 intersect",
  );
  assert.equal(
    refusal(withPages("<page size='2048'/><page size='1048576'/>", twoCells)).message,
    "two master hugepages detected: 1048576 and 2048",
  );
});

Deno.test("validateDomain refuses shmem smaller than 1 MiB", () => {
  const def = valid();
  def.devices.shmems.push({ name: "s", sizeKiB: 16 });
  assert.equal(refusal(def).where, "/domain/devices/shmem[1]/size");
});

Deno.test("validateDomain refuses a graphics listen attribute that contradicts the first listen", () => {
  const def = valid();
  def.devices.graphics.push({
    type: "vnc",
    listen: "1.2.3.4",
    listens: [{ type: "address", address: "5.6.7.8" }],
  });
  assert.match(refusal(def).message, /must match 'address' attribute of first listen element/);
  def.devices.graphics[0] = { type: "vnc", listens: [{ type: "network" }] };
  assert.equal(refusal(def).where, "/domain/devices/graphics[1]/listen[1]");
});

Deno.test("validateDomain checks unique device aliases only for live XML", () => {
  const def = valid();
  def.devices.disks[0].alias = "dup";
  def.devices.interfaces[0].alias = "dup";
  validateDomain(def);
  assert.equal(refusal(def, { live: true }).message, "non unique alias detected: dup");
});

Deno.test("validateDomain refuses virtio queue sizes that are not powers of two", () => {
  const def = valid();
  def.devices.interfaces[0].model = "virtio";
  def.devices.interfaces[0].driver = { rx_queue_size: "300" };
  const error = refusal(def);
  assert.equal(error.code, 67);
  assert.equal(error.message, "rx_queue_size has to be a power of two");
  assert.equal(error.where, "/domain/devices/interface[1]/driver/@rx_queue_size");
  def.devices.interfaces[0].driver = { rx_queue_size: "512", tx_queue_size: "256" };
  validateDomain(def);
});

Deno.test("validateDomain refuses a sysinfo system uuid other than the domain's", () => {
  const sysinfo = (uuid: string) =>
    `<sysinfo type='smbios'><system><entry name='uuid'>${uuid}</entry></system></sysinfo>`;
  const other = parseDomainXml(
    VALID.replace("<os>", sysinfo("c7a5fdbd-edaf-9455-926a-d65c16db1809") + "<os>"),
  );
  const error = refusal(other);
  assert.equal(error.code, 35);
  assert.equal(error.message, "UUID mismatch between <uuid> and <sysinfo>");
  validateDomain(
    parseDomainXml(VALID.replace("<os>", sysinfo("0d3c1c54-7b0e-4f5e-9f3a-3a6c2f0b9e11") + "<os>")),
  );
});
