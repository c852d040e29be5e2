/**
 * The QEMU driver against the inputs libvirt refuses in its qemuxml2argv corpus (a `NAME*.err`
 * and no command line): each is rejected by evirt when it is defined (parse, defaults,
 * validation, the driver's define-time check) or by the driver's build when it is started
 * (what only the start's accelerator decides, such as a host-passthrough CPU under TCG).
 *
 * The exceptions are inputs whose `.err` comes from the old QEMU capabilities libvirt's test
 * suite feeds it, not from a rule: libvirt 9.0 with QEMU 7.2 on this machine defines and
 * starts each of them (checked with the running libvirtd), so evirt accepting them is libvirt's
 * behaviour here. The one input whose rule belongs to PCI address assignment is named apart.
 */

import assert from "node:assert/strict";
import { acceleratorFor } from "../../drivers/qemu/accelerator.ts";
import { buildCommandLine, emulatorFor } from "../../drivers/qemu/command_line.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { checkCountLimits } from "../../src/model/device_limits.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { validateDomain } from "../../src/xml/validate_domain.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";

const folder = `${corpusDir}/qemuxml2argv`;

/** `.err` inputs that libvirt 9.0 runs with QEMU 7.2 here, and why its test suite refused them. */
const CAPABILITY_ONLY: Readonly<Record<string, string>> = {
  "cpu-nofallback": "the test capabilities lack the Westmere model",
  "cpu-host-model-nofallback": "the test capabilities' host-model CPU lacks the core2duo model",
  "pc-i440fx-acpi-root-hotplug-enable": "QEMU 5.1 capabilities lack the hotplug property",
  "usb-controller-default-unavailable-q35": "the test capabilities lack qemu-xhci",
  "virtio-options-memballoon-freepage-reporting": "the test capabilities lack free page reporting",
};

/** The inputs libvirt refuses: an `.err` file and no command line. */
function refusedNames(): string[] {
  const files = [...Deno.readDirSync(folder)].map((entry) => entry.name);
  const set = new Set(files);
  return files.filter((name) => name.endsWith(".xml")).map((name) => name.slice(0, -4))
    .filter((name) =>
      files.some((file) => file.startsWith(`${name}.`) && file.endsWith(".err")) &&
      !set.has(`${name}.args`) && !set.has(`${name}.x86_64-latest.args`)
    ).sort();
}

type Verdict = "define" | "start" | "accepted";

testIf(
  "QemuDriver rejects at define or start every corpus input libvirt refuses",
  missing(folder, "qemu-system-x86_64"),
  async () => {
    const root = Deno.makeTempDirSync({ prefix: "evirt-corpus-refusals-" });
    const driver = await QemuDriver.create({
      runtimeDir: `${root}/run`,
      logDir: `${root}/log`,
      log: () => {},
    });
    const verdicts = new Map<string, Verdict>();
    try {
      for (const name of refusedNames()) verdicts.set(name, await verdictOf(driver, name));
    } finally {
      await driver.close();
      Deno.removeSync(root, { recursive: true });
    }
    const accepted = [...verdicts].filter(([, verdict]) => verdict === "accepted")
      .map(([name]) => name);
    console.log(
      `qemu corpus refusals: ${verdicts.size} inputs libvirt refuses: ` +
        `${
          [...verdicts.values()].filter((verdict) => verdict === "define").length
        } rejected at define, ` +
        `${[...verdicts.values()].filter((verdict) => verdict === "start").length} at start, ` +
        `${accepted.length} accepted (${accepted.join(", ")})`,
    );
    assert.ok(verdicts.size > 0, "no refused input found");
    assert.deepEqual(
      accepted.filter((name) => CAPABILITY_ONLY[name] === undefined),
      [],
    );
  },
);

async function verdictOf(driver: QemuDriver, name: string): Promise<Verdict> {
  let definition;
  try {
    const parsed = parseDomainXml(Deno.readTextFileSync(`${folder}/${name}.xml`));
    checkCountLimits(parsed);
    definition = applyDomainDefaults(parsed);
    validateDomain(definition);
    driver.check(definition);
    // Define-time completion (addresses, implicit devices), as the host's define runs it.
    definition = await driver.completeDefinition(definition);
  } catch (error) {
    assert.ok(isVirtError(error), `${name}: not a VirtError: ${error}`);
    return "define";
  }
  try {
    // The build a start runs, with the accelerator this machine has.
    buildCommandLine(definition, {
      emulator: emulatorFor(definition),
      accelerator: acceleratorFor(definition.type, driver.kvmUsable),
      monitorSocketPath: "/run/check/monitor.sock",
      pidFilePath: "/run/check/qemu.pid",
      sandbox: false,
      nowMs: Date.now(),
    });
  } catch (error) {
    assert.ok(isVirtError(error), `${name}: not a VirtError: ${error}`);
    return "start";
  }
  return "accepted";
}
