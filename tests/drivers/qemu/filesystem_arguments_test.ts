import assert from "node:assert/strict";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { assertRefused, build, valuesOf } from "./_qemu_definitions.ts";

function domain(filesystem: string) {
  return parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>65536</memory><os><type machine='pc'>hvm</type></os><devices>${filesystem}</devices></domain>`,
  );
}

Deno.test("a shared folder becomes -fsdev local and virtio-9p-pci, its folder required", () => {
  const line = build(domain(
    "<filesystem type='mount' accessmode='mapped'><source dir='/srv/share'/>" +
      "<target dir='tag1'/><readonly/></filesystem>",
  ));
  assert.deepEqual(valuesOf(line.args, "-fsdev"), [
    "local,security_model=mapped-xattr,id=fsdev-fs0,path=/srv/share,readonly=on",
  ]);
  assert.ok(
    valuesOf(line.args, "-device").some((device) =>
      device.startsWith("virtio-9p-pci,id=fs0,fsdev=fsdev-fs0,mount_tag=tag1,bus=pci.0,addr=")
    ),
  );
  assert.ok(
    line.hostPaths.some((required) =>
      required.path === "/srv/share" && required.kind === "directory"
    ),
  );
});

Deno.test("virtiofs and unknown filesystem parts are refused by element", () => {
  assertRefused(
    domain(
      "<filesystem type='mount'><driver type='virtiofs'/><source dir='/a'/><target dir='t'/></filesystem>",
    ),
    "/domain/devices/filesystem[1]/driver/@type",
    /virtiofsd/,
  );
  assertRefused(
    domain(
      "<filesystem type='mount'><source dir='/a'/><target dir='t'/><binary path='/x'/></filesystem>",
    ),
    "/domain/devices/filesystem[1]/binary",
  );
});
