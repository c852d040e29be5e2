import assert from "node:assert/strict";
import { xlToDefinition } from "../../../drivers/xen/xl_parse.ts";
import { xmToDefinition } from "../../../drivers/xen/xm_parse.ts";
import { definitionToXl } from "../../../drivers/xen/xl_format.ts";
import { definitionToXm } from "../../../drivers/xen/xm_format.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

const base = 'name = "g"\nuuid = "c7a5fdb2-cdaf-9455-926a-d65c16db1809"\n';

function refused(run: () => unknown, code: number, message: RegExp): void {
  assert.throws(run, (error) => {
    assert.ok(isVirtError(error, code as never), `${error}`);
    assert.match((error as Error).message, message);
    return true;
  });
}

Deno.test("xen: a configuration without a name is refused (code 1)", () => {
  refused(
    () => xlToDefinition("memory = 512\n"),
    ErrorCode.INTERNAL_ERROR,
    /config value name was missing/,
  );
});

Deno.test("xen: an unknown guest type is refused (code 67)", () => {
  refused(
    () => xlToDefinition(`${base}type = "hvm2"\n`),
    ErrorCode.CONFIG_UNSUPPORTED,
    /type hvm2 is not supported/,
  );
});

Deno.test("xen: an unknown lifecycle action, chardev type or cpuid form is refused", () => {
  refused(
    () => xlToDefinition(`${base}on_crash = "explode"\n`),
    ErrorCode.INTERNAL_ERROR,
    /unexpected value explode for on_crash/,
  );
  refused(
    () => xlToDefinition(`${base}builder = "hvm"\nserial = "bogus:x"\n`),
    ErrorCode.INTERNAL_ERROR,
    /unknown chr device type 'bogus'/,
  );
  refused(
    () => xlToDefinition(`${base}builder = "hvm"\ncpuid = "0x1:ecx=x"\n`),
    ErrorCode.CONF_SYNTAX,
    /only libxl format is/,
  );
  refused(
    () => xlToDefinition('name = "g"\nuuid = "nope"\n'),
    ErrorCode.CONF_SYNTAX,
    /nope not parseable/,
  );
});

Deno.test("xen-xm: several serial ports are refused as libvirt refuses them", () => {
  refused(
    () => xmToDefinition(`${base}builder = "hvm"\nkernel = "/l"\nserial = [ "pty", "null" ]\n`),
    ErrorCode.CONFIG_UNSUPPORTED,
    /Multiple serial devices are not supported by xen-xm/,
  );
});

Deno.test("xen: to-native refuses what the formats cannot carry (code 67)", () => {
  const reset = parseDomainXml(
    "<domain type='xen'><name>g</name><memory>524288</memory><os><type>hvm</type></os>" +
      "<clock offset='utc' adjustment='reset'/></domain>",
  );
  refused(() => definitionToXl(reset), ErrorCode.CONFIG_UNSUPPORTED, /adjustment='reset'/);
  const rtc = parseDomainXml(
    "<domain type='xen'><name>g</name><memory>524288</memory><os><type>hvm</type></os>" +
      "<clock offset='utc'><timer name='rtc'/></clock></domain>",
  );
  refused(
    () => definitionToXm(rtc),
    ErrorCode.CONFIG_UNSUPPORTED,
    /unsupported timer type \(name\) 'rtc'/,
  );
  const user = parseDomainXml(
    "<domain type='xen'><name>g</name><memory>524288</memory><os><type>linux</type></os>" +
      "<devices><interface type='user'/></devices></domain>",
  );
  refused(() => definitionToXl(user), ErrorCode.CONFIG_UNSUPPORTED, /Unsupported net type 'user'/);
});

Deno.test("xen: a PV guest gets libvirt's implicit devices; HVM gets PAE and PS/2 inputs", () => {
  const pv = xlToDefinition(`${base}memory = 256\n`);
  assert.equal(pv.os.type, "linux");
  assert.deepEqual(pv.devices.consoles[0].target, { type: "xen", port: 0 });
  assert.deepEqual(pv.devices.inputs.map((input) => input.bus), ["xen", "xen"]);
  assert.equal(pv.devices.memballoon?.model, "xen");
  assert.equal(pv.memoryKiB, 256 * 1024);
  const hvm = xlToDefinition(`${base}builder = "hvm"\npae = 0\n`);
  assert.ok(hvm.features?.pae !== undefined);
  assert.deepEqual(hvm.devices.inputs.map((input) => input.bus), ["ps2", "ps2"]);
  assert.equal(hvm.os.loader?.type, "rom");
});

Deno.test("xen: memory above maxmem is the maximum; maxvcpus below vcpus wins", () => {
  const definition = xlToDefinition(
    `${base}memory = 1024\nmaxmem = 512\nvcpus = 4\nmaxvcpus = 2\n`,
  );
  assert.equal(definition.memoryKiB, 512 * 1024);
  assert.equal(definition.currentMemoryKiB, 512 * 1024);
  assert.equal(definition.vcpus, 2);
  assert.equal(definition.vcpu?.current, undefined);
});
