import assert from "node:assert/strict";
import { capabilitiesXml } from "../../../src/xml/capabilities_xml.ts";

Deno.test("capabilitiesXml writes libvirt's layout: blank lines between sections, cells, guests", () => {
  const xml = capabilitiesXml(
    {
      arch: "x86_64",
      vendor: "AMD",
      topology: { sockets: 1, dies: 1, cores: 2, threads: 1 },
      pageSizesKiB: [4],
      iommu: false,
      cells: [{
        id: 0,
        memoryKiB: 1024,
        pages: [{ sizeKiB: 4, count: 256 }],
        distances: [{ id: 0, value: 10 }],
        cpus: [{ id: 0, socketId: 0, dieId: 0, coreId: 0, siblings: "0" }],
      }],
      secmodels: [{ model: "testSecurity", doi: "" }],
    },
    [{
      osType: "hvm",
      arch: "x86_64",
      wordsize: 64,
      emulator: "/usr/bin/qemu-system-x86_64",
      machines: [{ name: "pc", canonical: "pc-i440fx-7.2", maxCpus: 255 }],
      domainTypes: ["qemu"],
      features: ["pae"],
    }],
  );
  assert.ok(xml.startsWith("<capabilities>\n\n  <host>\n    <cpu>\n      <arch>x86_64</arch>\n"));
  assert.ok(xml.endsWith("  </guest>\n\n</capabilities>\n"));
  assert.match(xml, /\n {2}<\/host>\n\n {2}<guest>\n/);
  assert.match(xml, /<iommu support='no'\/>/);
  assert.match(xml, /<pages unit='KiB' size='4'>256<\/pages>/);
  assert.match(xml, /<sibling id='0' value='10'\/>/);
  assert.match(xml, /<doi><\/doi>/);
  assert.match(xml, /<machine canonical='pc-i440fx-7.2' maxCpus='255'>pc<\/machine>/);
  assert.match(xml, /<features>\n {6}<pae\/>\n {4}<\/features>/);
});
