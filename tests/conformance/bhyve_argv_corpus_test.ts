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
import { parseDomainXml } from "../../src/xml/parse_domain.ts";
import { validateDomain } from "../../src/xml/validate_domain.ts";
import { corpusDir, exists, missing, testIf } from "../support/environment.ts";
import { lineDifference, names, readIfPresent, runCases } from "./native_corpus.ts";

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

testIf(
  "every bhyvexml2argvdata case gives libvirt's command lines or is refused as libvirt refuses it",
  missing(FOLDER),
  () => {
    const tally = runCases(
      "bhyvexml2argv",
      names(FOLDER, ".xml"),
      (base) => {
        // The three files libvirt compares, as one text: bhyve, loader, grub device map.
        const args = readIfPresent(`${FOLDER}/${base}.args`);
        if (args === undefined) return undefined;
        const ldargs = readIfPresent(`${FOLDER}/${base}.ldargs`) ?? "";
        const devmap = readIfPresent(`${FOLDER}/${base}.devmap`);
        return [args.trimEnd(), ldargs.trimEnd(), ...(devmap === undefined ? [] : [devmap.trim()])]
          .join("\n--\n");
      },
      (base) => {
        const name = base.slice("bhyvexml2argv-".length);
        const capabilities = capabilitiesFor(name);
        // libvirt's parse includes its define-time checks.
        const parsed = parseDomainXml(Deno.readTextFileSync(`${FOLDER}/${base}.xml`));
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
        const load = commands.load === undefined ? "dummy" : commandText(commands.load, layout);
        const devmap = exists(`${FOLDER}/${base}.devmap`) || commands.deviceMap !== undefined
          ? [(commands.deviceMap ?? "").trim()]
          : [];
        return [commandText(commands.bhyve, layout), load, ...devmap].join("\n--\n");
      },
      lineDifference,
    );
    assert.deepEqual(tally.differing, []);
    assert.ok(tally.cases >= 25, `only ${tally.cases} cases`);
  },
);
