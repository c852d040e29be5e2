import assert from "node:assert/strict";
import { checkCpuNames, checkDefinitionRules } from "../../../drivers/qemu/definition_rules.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";

function domain(parts: { os?: string; devices?: string; top?: string; arch?: string }) {
  return parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>65536</memory>${parts.top ?? ""}<os><type arch='${
      parts.arch ?? "x86_64"
    }' machine='pc'>hvm</type>${parts.os ?? ""}</os><devices>${
      parts.devices ?? ""
    }</devices></domain>`,
  );
}

function assertRule(xml: Parameters<typeof domain>[0], where: string, message: RegExp): void {
  assert.throws(() => checkDefinitionRules(domain(xml)), (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, ErrorCode.CONFIG_UNSUPPORTED);
    assert.equal(error.where, where);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("checkDefinitionRules refuses an architecture the x86 emulator does not run", () => {
  assertRule({ arch: "alpha" }, "/domain/os/type/@arch", /does not support arch 'alpha'/);
  checkDefinitionRules(domain({ arch: "i686" }));
});

Deno.test("checkDefinitionRules refuses a shareable writable disk in a format without shared access", () => {
  const disk = (format: string, extra = "") =>
    `<disk type='file' device='disk'><driver name='qemu' type='${format}'/><source file='/x'/>` +
    `<target dev='hda' bus='ide'/><shareable/>${extra}</disk>`;
  assertRule(
    { devices: disk("qcow2") },
    "/domain/devices/disk[1]/shareable",
    /^shared access for disk 'hda' requires use of supported storage format$/,
  );
  checkDefinitionRules(domain({ devices: disk("raw") }));
  checkDefinitionRules(domain({ devices: disk("qcow2", "<readonly/>") }));
});

Deno.test("checkDefinitionRules refuses memory hotplug without a NUMA node", () => {
  assertRule(
    { top: "<maxMemory slots='4' unit='KiB'>1048576</maxMemory>" },
    "/domain/maxMemory",
    /At least one numa node/,
  );
});

Deno.test("checkDefinitionRules refuses UEFI without ACPI", () => {
  const loader = "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>";
  assertRule({ os: loader }, "/domain/os/loader", /^UEFI requires ACPI on this architecture$/);
  checkDefinitionRules(domain({ os: loader, top: "<features><acpi/></features>" }));
});

Deno.test("checkDefinitionRules refuses an address on a ramfb video device", () => {
  assertRule(
    {
      devices: "<video><model type='ramfb'/>" +
        "<address type='pci' domain='0' bus='0' slot='2' function='0'/></video>",
    },
    "/domain/devices/video[1]/address",
    /^address not supported for video type ramfb$/,
  );
});

Deno.test("checkCpuNames refuses a CPU model or feature the emulator no longer has", () => {
  const names = { models: new Set(["qemu64", "Haswell"]), flags: new Set(["lahf-lm", "sse4.2"]) };
  const cpu = (model: string, feature: string) =>
    parseDomainXml(
      `<domain type='qemu'><name>a</name><memory>65536</memory><os><type>hvm</type></os>` +
        `<cpu><model>${model}</model><feature policy='disable' name='${feature}'/></cpu></domain>`,
    );
  // libvirt's underscore spelling is QEMU's dash one.
  checkCpuNames(cpu("Haswell", "lahf_lm"), names);
  assert.throws(() => checkCpuNames(cpu("Icelake-Client", "sse4.2"), names), (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.where, "/domain/cpu/model");
    return true;
  });
  // Even to switch it off: QEMU refuses a property it does not have.
  assert.throws(() => checkCpuNames(cpu("qemu64", "osxsave"), names), (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, ErrorCode.CONFIG_UNSUPPORTED);
    assert.equal(error.where, "/domain/cpu/feature[1]/@name");
    return true;
  });
});

Deno.test("checkDefinitionRules refuses memory sizes that overflow once aligned to 1 MiB", () => {
  const cell = (kib: string) =>
    domain({
      top: `<cpu><numa><cell id='0' cpus='0' memory='${kib}' unit='KiB'/></numa></cpu>`,
    });
  assert.throws(() => checkDefinitionRules(cell("9007199254740991")), (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.where, "/domain/cpu/numa/cell[1]/@memory");
    assert.match(error.message, /memory size of NUMA node '0' overflowed after alignment/);
    return true;
  });
  checkDefinitionRules(cell("1048576"));
});
