/**
 * libvirt's bhyve command-line corpus (`bhyvexml2argvdata`): for every definition, the `bhyve`
 * command line, the loader's (`dummy` where the guest boots from firmware, as libvirt's test
 * writes it) and grub's device map equal libvirt's; a definition without a `.args` file is one
 * libvirt refuses, and must be refused.
 *
 * The context is the one libvirt's `bhyvexml2argvtest` gives each case on its first run: every
 * binary feature, except those its table turns off before the case (listed below); programs
 * without their directory; `faketapdev` for tap devices; `52:54:00:00:00:00` for a generated
 * MAC; the firmware folder `fakefirmwaredir` holding `BHYVE_UEFI.fd`; VNC port 5900 (the first of
 * the test's port allocator) for an automatic port.
 *
 * Prints: cases, equal, rejected as libvirt rejects, differing (listed).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type BhyveCapabilities,
  bhyveCommands,
  bhyveDefaults,
  commandText,
  fillBhyveFirmware,
  FULL_BHYVE_CAPABILITIES,
} from "../../drivers/bhyve/mod.ts";
import { VirtError } from "../../src/model/errors.ts";
import { parseDomainXml } from "../../src/xml/parse_domain.ts";
import { validateDomain } from "../../src/xml/validate_domain.ts";
import { corpusDir, exists, missing, testIf } from "../support/environment.ts";

const FOLDER = `${corpusDir}/bhyvexml2argvdata`;

/** The features libvirt's test table has turned off by the first run of a case. */
function capabilitiesFor(name: string): BhyveCapabilities {
  const caps = { ...FULL_BHYVE_CAPABILITIES };
  const late = name.startsWith("addr-") || name.startsWith("xhci-") ||
    name === "input-xhci-tablet" || name === "serial-grub-nocons";
  if (late) caps.virtio9p = false;
  if (
    name.startsWith("addr-no32devs-") || name.startsWith("xhci-") || name === "input-xhci-tablet" ||
    name === "serial-grub-nocons"
  ) {
    caps.ahci32Slot = false;
  }
  if (name === "serial-grub-nocons") {
    caps.xhci = false;
    caps.grubConsoleDevice = false;
  }
  return caps;
}

function readIfPresent(path: string): string | undefined {
  return exists(path) ? Deno.readTextFileSync(path) : undefined;
}

testIf(
  "every bhyvexml2argvdata case gives libvirt's command lines or is refused as libvirt refuses it",
  missing(FOLDER),
  () => {
    const names = [...Deno.readDirSync(FOLDER)].map((entry) => entry.name)
      .filter((name) => name.endsWith(".xml")).map((name) =>
        name.slice("bhyvexml2argv-".length, -4)
      )
      .sort();
    const equal: string[] = [];
    const rejected: string[] = [];
    const differing: string[] = [];
    for (const name of names) {
      const base = `${FOLDER}/bhyvexml2argv-${name}`;
      const args = readIfPresent(`${base}.args`);
      let actual: { args: string; ldargs: string; devmap?: string };
      try {
        const capabilities = capabilitiesFor(name);
        // libvirt's parse includes its define-time checks.
        const parsed = parseDomainXml(Deno.readTextFileSync(`${base}.xml`));
        validateDomain(parsed);
        const def = bhyveDefaults(parsed, {
          capabilities,
          generateMac: () => "52:54:00:00:00:00",
        });
        fillBhyveFirmware(def, "fakefirmwaredir", ["BHYVE_UEFI.fd"]);
        const commands = bhyveCommands(def, {
          capabilities,
          bhyve: "bhyve",
          bhyveload: "bhyveload",
          tapName: "faketapdev",
          deviceMapFile: "<device.map>",
          // The first port of the test's allocator (5900–65535).
          autoPort: 5900,
        });
        const layout = { linebreaks: true, stripProgramPath: true };
        actual = {
          args: commandText(commands.bhyve, layout),
          ldargs: commands.load === undefined ? "dummy" : commandText(commands.load, layout),
          ...(commands.deviceMap === undefined ? {} : { devmap: commands.deviceMap.trim() }),
        };
      } catch (error) {
        if (!(error instanceof VirtError)) throw error;
        if (args === undefined) rejected.push(`${name} (${error.message})`);
        else differing.push(`${name}: refused (${error.message})`);
        continue;
      }
      if (args === undefined) {
        differing.push(`${name}: accepted, libvirt refuses it`);
        continue;
      }
      const problems: string[] = [];
      if (actual.args !== args.trimEnd()) problems.push(`args:\n${actual.args}`);
      const ldargs = readIfPresent(`${base}.ldargs`)?.trimEnd();
      if (actual.ldargs !== ldargs) problems.push(`ldargs:\n${actual.ldargs}`);
      const devmap = readIfPresent(`${base}.devmap`)?.trim();
      if (devmap !== undefined && actual.devmap !== devmap) {
        problems.push(`devmap:\n${actual.devmap}`);
      }
      if (problems.length === 0) equal.push(name);
      else differing.push(`${name}: ${problems.join("\n")}`);
    }
    console.log(
      `bhyvexml2argv: ${names.length} cases, ${equal.length} equal, ${rejected.length} rejected ` +
        `as libvirt rejects, ${differing.length} differing`,
    );
    for (const line of rejected) console.log(`  rejected: ${line}`);
    for (const line of differing) console.log(`  differing: ${line}`);
    assert.deepEqual(differing, []);
  },
);
