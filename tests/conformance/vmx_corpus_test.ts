/**
 * libvirt's VMX corpus (`vmx2xmldata`, `xml2vmxdata`), both directions, with the conversion
 * context libvirt's `vmx2xmltest` and `xml2vmxtest` give it:
 *
 * - `.vmx` → XML: file names map to datastore paths, bare names to `[datastore] directory/`;
 *   a datastore named `missing` or a path starting `missing` does not exist; the
 *   `datacenterpath` case runs with datacenter path `folder1/folder2/datacenter1`. Every
 *   `NAME.vmx` with a `NAME.xml` must convert to XML equal to it; a `NAME.vmx` without one is
 *   a file libvirt refuses, and must be refused.
 * - XML → `.vmx`: datastore paths map back to `/vmfs/volumes/…`; a SCSI controller of model
 *   `auto` is detected as `lsilogic`; the virtual hardware version is the one libvirt's test
 *   passes, which its expected file records (`virtualHW.version`). The text must equal
 *   libvirt's byte for byte; an XML without a `.vmx` is one libvirt refuses.
 *
 * Each direction prints: cases, equal, rejected as libvirt rejects, differing (listed). A third
 * test takes libvirt's XML of every vmx2xmldata case through `.vmx` and back: it must come back
 * unchanged, except where libvirt's XML → `.vmx` refuses it (SCSI units beyond 15, which only
 * hardware version 13's wider buses have).
 *
 * @module
 */

import assert from "node:assert/strict";
import { domainToVmx, vmxTextFromBytes, vmxToDomain } from "../../drivers/vmware/mod.ts";
import type { DatastoreLookup } from "../../drivers/vmware/mod.ts";
import { VirtError } from "../../src/model/errors.ts";
import { formatDomainXml } from "../../src/xml/format_domain.ts";
import { parseDomainXml } from "../../src/xml/parse_domain.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { lineDifference, names, readIfPresent, runCases } from "./native_corpus.ts";
import { xmlDifference } from "./xml_corpus.ts";

const VMX2XML = `${corpusDir}/vmx2xmldata`;
const XML2VMX = `${corpusDir}/xml2vmxdata`;

/** libvirt's test datastore: everything exists except what is called "missing". */
const testDatastore: DatastoreLookup = (datastore, path) =>
  datastore !== "missing" && !path.startsWith("missing");

/** The datacenter path libvirt's vmx2xml test gives its `datacenterpath` case. */
const DATACENTER_CASES: ReadonlyMap<string, string> = new Map([
  ["datacenterpath", "folder1/folder2/datacenter1"],
]);

testIf(
  "every vmx2xmldata case converts to libvirt's XML or is refused as libvirt refuses it",
  missing(VMX2XML),
  () => {
    const tally = runCases(
      "vmx2xml",
      names(VMX2XML, ".vmx"),
      (name) => readIfPresent(`${VMX2XML}/${name}.xml`),
      (name) => {
        const datacenterPath = DATACENTER_CASES.get(name);
        const def = vmxToDomain(vmxTextFromBytes(Deno.readFileSync(`${VMX2XML}/${name}.vmx`)), {
          exists: testDatastore,
          ...(datacenterPath === undefined ? {} : { datacenterPath }),
        });
        return formatDomainXml(def, { secure: true });
      },
      xmlDifference,
    );
    assert.deepEqual(tally.differing, []);
    assert.ok(tally.cases >= 30, `only ${tally.cases} cases`);
  },
);

testIf(
  "every xml2vmxdata case converts to libvirt's .vmx or is refused as libvirt refuses it",
  missing(XML2VMX),
  () => {
    const tally = runCases(
      "xml2vmx",
      names(XML2VMX, ".xml"),
      (name) => readIfPresent(`${XML2VMX}/${name}.vmx`),
      (name, expected) => {
        const version = /^virtualHW\.version = "([0-9]+)"$/m.exec(expected ?? "")?.[1] ?? "4";
        const def = parseDomainXml(Deno.readTextFileSync(`${XML2VMX}/${name}.xml`));
        return domainToVmx(def, {
          hardwareVersion: Number(version),
          autodetectScsiModel: () => "lsilogic",
        });
      },
      lineDifference,
    );
    assert.deepEqual(tally.differing, []);
    assert.ok(tally.cases >= 30, `only ${tally.cases} cases`);
  },
);

testIf(
  "libvirt's XML for every vmx2xmldata case survives XML → .vmx → XML unchanged",
  missing(VMX2XML),
  () => {
    const changed: string[] = [];
    let refused = 0;
    const cases = names(VMX2XML, ".xml");
    for (const name of cases) {
      const xml = Deno.readTextFileSync(`${VMX2XML}/${name}.xml`);
      const def = parseDomainXml(xml);
      // libvirt's XML side addresses 15 disks a SCSI bus; wider buses (hardware 13) are refused.
      const wide = def.devices.disks.some((disk) => (disk.address?.unit ?? 0) > 15);
      let back: string;
      try {
        back = formatDomainXml(vmxToDomain(domainToVmx(def, { hardwareVersion: 7 })), {
          secure: true,
        });
      } catch (error) {
        if (wide && error instanceof VirtError) refused++;
        else changed.push(`${name}: refused (${(error as Error).message})`);
        continue;
      }
      if (wide) changed.push(`${name}: a disk beyond unit 15 was accepted`);
      const difference = xmlDifference(xml, back);
      if (difference !== undefined) changed.push(`${name}: ${difference}`);
    }
    console.log(
      `vmx round trip: ${cases.length} cases, ${
        cases.length - refused - changed.length
      } unchanged, ` +
        `${refused} refused (SCSI units beyond 15), ${changed.length} changed`,
    );
    assert.deepEqual(changed, []);
  },
);
