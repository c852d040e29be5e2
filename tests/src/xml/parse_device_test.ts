import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { parseDeviceXml } from "../../../src/xml/parse_device.ts";

Deno.test("a disk element decodes as it would inside <devices>", () => {
  const parsed = parseDeviceXml(
    "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/c.iso'/>" +
      "<target dev='hdc' bus='ide'/><readonly/></disk>",
  );
  assert.equal(parsed.list, "disks");
  assert.deepEqual(parsed.device, {
    type: "file",
    device: "cdrom",
    driver: { name: "qemu", type: "raw" },
    source: { file: "/c.iso", hosts: [] },
    target: { dev: "hdc", bus: "ide" },
    readonly: true,
  });
});

Deno.test("an interface element goes to the interface list", () => {
  const parsed = parseDeviceXml(
    "<interface type='user'><mac address='52:54:00:00:00:01'/></interface>",
  );
  assert.equal(parsed.list, "interfaces");
});

Deno.test("text that is no device element is an XML error (code 27)", () => {
  for (const text of ["", "<disk", "<nosuchdevice/>"]) {
    assert.throws(
      () => parseDeviceXml(text),
      (error) => isVirtError(error, ErrorCode.XML_ERROR),
      text,
    );
  }
});

Deno.test("a disk without a target is refused as the domain parser refuses it", () => {
  assert.throws(
    () => parseDeviceXml("<disk type='file'><source file='/a'/></disk>"),
    (error) => isVirtError(error),
  );
});
