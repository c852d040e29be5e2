import assert from "node:assert/strict";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { assertRefused, build, valuesOf } from "./_qemu_definitions.ts";

function domain(smbiosMode: string, sysinfo: string) {
  return parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>65536</memory><os><type machine='pc'>hvm</type>` +
      `<smbios mode='${smbiosMode}'/></os>${sysinfo}<devices/></domain>`,
  );
}

const SMBIOS = "<sysinfo type='smbios'><bios><entry name='vendor'>LENOVO</entry></bios>" +
  "<system><entry name='product'>Virt, Manager</entry><entry name='manufacturer'>Fedora</entry></system>" +
  "<oemStrings><entry>Hello</entry><entry>a,b</entry></oemStrings></sysinfo>";

Deno.test("sysinfo smbios tables become -smbios arguments in sysinfo mode only", () => {
  assert.deepEqual(valuesOf(build(domain("sysinfo", SMBIOS)).args, "-smbios"), [
    "type=0,vendor=LENOVO",
    "type=1,manufacturer=Fedora,product=Virt,, Manager",
    "type=11,value=Hello,value=a,,b",
  ]);
  assert.deepEqual(valuesOf(build(domain("emulate", SMBIOS)).args, "-smbios"), []);
});

Deno.test("sysinfo fwcfg entries become -fw_cfg arguments and files are required", () => {
  const line = build(domain(
    "emulate",
    "<sysinfo type='fwcfg'><entry name='opt/com.example/name'>example value</entry>" +
      "<entry name='opt/com.coreos/config' file='/tmp/provision.ign'/></sysinfo>",
  ));
  assert.deepEqual(valuesOf(line.args, "-fw_cfg"), [
    "name=opt/com.example/name,string=example value",
    "name=opt/com.coreos/config,file=/tmp/provision.ign",
  ]);
  assert.ok(line.hostPaths.some((required) => required.path === "/tmp/provision.ign"));
});

Deno.test("sysinfo entries evirt does not know are refused by element", () => {
  assertRefused(
    domain(
      "sysinfo",
      "<sysinfo type='smbios'><bios><entry name='colour'>x</entry></bios></sysinfo>",
    ),
    "/domain/sysinfo[1]/bios/entry[1]/@name",
  );
});
