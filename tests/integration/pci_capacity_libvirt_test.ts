/**
 * How many PCIe devices a q35 guest holds: libvirt 9.0 adds one `pcie-root-port` per device and
 * places the ports as functions of `pcie-root`'s slots; past the last free function it refuses the
 * definition, naming the controller it could not add. evirt's define-time completion must accept
 * and refuse at the same count, with the same message. The same definitions go to libvirtd (when it
 * answers on `qemu:///system`); every domain defined there is undefined in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { missing, testIf } from "../support/environment.ts";
import { libvirtdSkipReason, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

/** A q35 guest with `nics` virtio NICs and nothing else that needs a PCI slot but the defaults. */
function guestXml(name: string, nics: number): string {
  const interfaces = Array.from(
    { length: nics },
    (_, index) =>
      `<interface type='user'><mac address='52:54:00:aa:${
        (index >> 8).toString(16).padStart(2, "0")
      }:${(index & 255).toString(16).padStart(2, "0")}'/><model type='virtio'/></interface>`,
  ).join("");
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>` +
    `<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${interfaces}</devices></domain>`;
}

/** evirt's verdict: "defined", or the refusal's message. */
async function evirtVerdict(driver: QemuDriver, nics: number): Promise<string> {
  try {
    await driver.completeDefinition(applyDomainDefaults(parseDomainXml(guestXml("pci-cap", nics))));
    return "defined";
  } catch (error) {
    assert.ok(isVirtError(error), String(error));
    return (error as Error).message;
  }
}

/** libvirtd's verdict for the same definition; the domain is undefined again at once. */
async function libvirtVerdict(dir: string, nics: number): Promise<string> {
  const name = `${ORACLE_PREFIX}pci-cap-${nics}`;
  const path = `${dir}/${name}.xml`;
  Deno.writeTextFileSync(path, guestXml(name, nics));
  const run = await oracleVirsh(["define", path]);
  if (run.code === 0) {
    await oracleVirsh(["undefine", name]);
    return "defined";
  }
  return run.stderr.trim().replace(
    /^error: Failed to define domain from \S+\nerror: internal error: /,
    "",
  );
}

testIf(
  "a q35 guest holds as many PCIe devices as under libvirt 9.0, refused past it with libvirt's message",
  missing("qemu-system-x86_64"),
  async () => {
    const dir = searchableTempDirSync("evirt-pci-capacity-");
    const driver = await QemuDriver.create({
      runtimeDir: `${dir}/run`,
      logDir: `${dir}/log`,
      log: () => {},
    });
    try {
      // Find evirt's largest count (the verdict is monotonic in the count).
      let low = 1;
      let high = 256;
      while (low < high) {
        const middle = Math.ceil((low + high) / 2);
        if (await evirtVerdict(driver, middle) === "defined") low = middle;
        else high = middle - 1;
      }
      const refusal = await evirtVerdict(driver, low + 1);
      assert.equal(
        refusal,
        "a PCI slot is needed to connect a PCI controller model='pcie-root-port', but none is available, and it cannot be automatically added",
      );
      if (libvirtdSkipReason !== undefined) {
        console.error(`skip: comparison with libvirtd: ${libvirtdSkipReason}`);
        return;
      }
      assert.equal(await libvirtVerdict(dir, low), "defined", `libvirtd with ${low} NICs`);
      assert.equal(await libvirtVerdict(dir, low + 1), refusal, `libvirtd with ${low + 1} NICs`);
    } finally {
      await driver.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
