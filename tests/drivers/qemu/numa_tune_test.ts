import assert from "node:assert/strict";
import { numaCellBindings, wholeRamBinding } from "../../../drivers/qemu/numa_tune.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { build, valuesOf } from "./_qemu_definitions.ts";

function domain(numatune: string, cells = true) {
  return parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>262144</memory><vcpu>2</vcpu>` +
      `<numatune>${numatune}</numatune><os><type machine='pc'>hvm</type></os>` +
      (cells
        ? "<cpu><numa><cell id='0' cpus='0' memory='131072'/><cell id='1' cpus='1' memory='131072'/></numa></cpu>"
        : "") +
      "<devices/></domain>",
  );
}

function assertRefusedAt(run: () => unknown, where: string, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, ErrorCode.CONFIG_UNSUPPORTED);
    assert.equal(error.where, where);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("numatune binds each cell's RAM backend to its host nodes with the mode's policy", () => {
  const definition = domain(
    "<memory mode='strict' nodeset='0-1,3'/><memnode cellid='1' mode='interleave' nodeset='2'/>",
  );
  const bindings = numaCellBindings(definition, "0-3");
  assert.equal(bindings.get(0), "host-nodes=0-1,host-nodes=3,policy=bind");
  assert.equal(bindings.get(1), "host-nodes=2,policy=interleave");
  // restrictive leaves the placement to the kernel, as libvirt leaves it to cgroups.
  assert.equal(numaCellBindings(domain("<memory mode='restrictive' nodeset='0'/>"), "0").size, 0);
});

Deno.test("numatune on this host's node 0 reaches the -object of the cell", () => {
  const line = build(domain("<memory mode='preferred' nodeset='0'/>"));
  assert.ok(
    valuesOf(line.args, "-object").some((object) =>
      object.startsWith("memory-backend-ram,id=ram-node0,") &&
      object.endsWith(",host-nodes=0,policy=preferred")
    ),
  );
});

Deno.test("numatune refuses nodes the host lacks and numad placement", () => {
  assertRefusedAt(
    () => numaCellBindings(domain("<memory mode='strict' nodeset='0-5,^4'/>"), "0"),
    "/domain/numatune/memory/@nodeset",
    /NUMA node 1 is unavailable/,
  );
  assertRefusedAt(
    () => numaCellBindings(domain("<memory mode='strict' placement='auto'/>"), "0"),
    "/domain/numatune/memory/@placement",
    /numad/,
  );
  assertRefusedAt(
    () => wholeRamBinding(domain("<memory mode='strict' placement='auto'/>", false), "0"),
    "/domain/numatune/memory/@placement",
    /numad/,
  );
  assertRefusedAt(
    () => wholeRamBinding(domain("<memory mode='strict' nodeset='1'/>", false), "0"),
    "/domain/numatune/memory/@nodeset",
    /NUMA node 1 is unavailable/,
  );
});

Deno.test("numatune of a guest without cells binds the whole RAM's backend, as libvirt 9.0", () => {
  const definition = domain("<memory mode='interleave' nodeset='0'/>", false);
  assert.equal(numaCellBindings(definition, "0").size, 0);
  assert.equal(wholeRamBinding(definition, "0"), "host-nodes=0,policy=interleave");
  const line = build(domain("<memory mode='strict' nodeset='0'/>", false));
  assert.deepEqual(valuesOf(line.args, "-object"), [
    "memory-backend-ram,id=pc.ram,size=256M,host-nodes=0,policy=bind",
  ]);
  assert.ok(valuesOf(line.args, "-machine")[0].endsWith(",memory-backend=pc.ram"));
  assert.equal(wholeRamBinding(domain("<memory mode='strict' nodeset='0'/>"), "0"), undefined);
});
