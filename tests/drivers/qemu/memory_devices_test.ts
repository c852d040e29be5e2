import assert from "node:assert/strict";
import { applyDomainDefaults } from "../../../src/model/domain_defaults.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { assertRefused, build, valuesOf } from "./_qemu_definitions.ts";

function domain(memory: string, options: { acpi?: boolean; maxMemory?: boolean } = {}) {
  const features = options.acpi === false ? "" : "<features><acpi/></features>";
  const maxMemory = options.maxMemory === false
    ? ""
    : "<maxMemory slots='4' unit='KiB'>4194304</maxMemory>";
  return applyDomainDefaults(parseDomainXml(
    `<domain type='qemu'><name>a</name>${maxMemory}<memory>1310720</memory><vcpu>2</vcpu>` +
      `<os><type machine='pc'>hvm</type></os>${features}<cpu><numa>` +
      "<cell id='0' cpus='0' memory='524288'/><cell id='1' cpus='1' memory='262144'/>" +
      `</numa></cpu><devices>${memory}</devices></domain>`,
  ));
}

const DIMM = (target: string, rest = "") =>
  `<memory model='dimm'>${rest}<target>${target}</target></memory>`;

Deno.test("a dimm is a RAM backend and a pc-dimm in its slot or the first free one, size 2 MiB-aligned", () => {
  const line = build(domain(
    DIMM("<size unit='KiB'>524287</size><node>1</node>", "") +
      DIMM(
        "<size unit='MiB'>256</size><node>0</node>",
        "",
      ).replace("</memory>", "<address type='dimm' slot='0' base='0x100000000'/></memory>"),
  ));
  assert.deepEqual(valuesOf(line.args, "-object").filter((each) => each.includes("memdimm")), [
    "memory-backend-ram,id=memdimm1,size=536870912",
    "memory-backend-ram,id=memdimm0,size=268435456",
  ]);
  assert.deepEqual(valuesOf(line.args, "-device").filter((each) => each.startsWith("pc-dimm")), [
    "pc-dimm,node=1,memdev=memdimm1,id=dimm1,slot=1",
    "pc-dimm,node=0,memdev=memdimm0,id=dimm0,slot=0,addr=4294967296",
  ]);
});

Deno.test("a dimm of huge pages takes them from the mount of its page size, preallocated", () => {
  const line = build(
    domain(DIMM(
      "<size unit='MiB'>512</size><node>0</node>",
      "<source><pagesize unit='KiB'>2048</pagesize></source>",
    )),
    { hugetlbfs: [{ path: "/dev/hugepages", pageSizeKiB: 2048 }] },
  );
  assert.ok(
    valuesOf(line.args, "-object").includes(
      "memory-backend-file,id=memdimm0,mem-path=/dev/hugepages/libvirt/qemu/domain-1-vm,prealloc=on,size=536870912",
    ),
    valuesOf(line.args, "-object").join("\n"),
  );
});

Deno.test("memory devices are refused without ACPI, maxMemory, their node or as another model", () => {
  const dimm = DIMM("<size unit='MiB'>512</size><node>0</node>");
  assertRefused(domain(dimm, { acpi: false }), "/domain/devices/memory[1]", /ACPI/);
  assertRefused(domain(dimm, { maxMemory: false }), "/domain/devices/memory[1]", /maxMemory/);
  assertRefused(
    domain(DIMM("<size unit='MiB'>512</size><node>2</node>")),
    "/domain/devices/memory[1]/target/node",
  );
  assertRefused(
    domain(dimm.replace("dimm", "virtio-mem")),
    "/domain/devices/memory[1]/@model",
  );
  assertRefused(
    domain(dimm.replace("</memory>", "<address type='dimm' slot='4'/></memory>")),
    "/domain/devices/memory[1]/address/@slot",
  );
});
