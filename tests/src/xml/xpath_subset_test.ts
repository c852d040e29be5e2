import assert from "node:assert/strict";
import { readXml } from "../../../src/xml/xml_reader.ts";
import {
  evaluateXPath,
  formatXPathNode,
  wrapXPathNodes,
  XPATH_MAX_CHARS,
} from "../../../src/xml/xpath_subset.ts";

const DOMAIN = readXml(`<domain type='kvm'>
  <name>web</name>
  <devices>
    <disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
  </devices>
</domain>`);

function select(expression: string): string[] {
  return evaluateXPath(DOMAIN, expression).map((node) => formatXPathNode(node));
}

Deno.test("evaluateXPath follows absolute, relative and descendant paths", () => {
  assert.deepEqual(select("/domain/name"), ["<name>web</name>"]);
  assert.deepEqual(select("name/text()"), ["web"]);
  assert.deepEqual(select("//target/@dev"), [' dev="vda"', ' dev="sda"']);
  assert.deepEqual(select("/domain//source/@*"), [' file="/a.img"', ' network="default"']);
  assert.deepEqual(select("//mac/../@type"), [' type="network"']);
  assert.deepEqual(select("//nothing"), []);
});

Deno.test("evaluateXPath filters with position, attribute and child predicates", () => {
  assert.deepEqual(select("//disk[2]/target/@dev"), [' dev="sda"']);
  assert.deepEqual(select("//disk[last()]/@device"), [' device="cdrom"']);
  assert.deepEqual(select("//disk[@device='cdrom']/target/@bus"), [' bus="sata"']);
  assert.deepEqual(select("//disk[@device!='cdrom']/target/@dev"), [' dev="vda"']);
  assert.deepEqual(select("//disk[source]/@device"), [' device="disk"']);
  assert.deepEqual(select(`//interface[mac/@address="52:54:00:00:00:01"]/source/@network`), [
    ' network="default"',
  ]);
  assert.deepEqual(select("//devices/*[3]/@type"), [' type="network"']);
});

Deno.test("evaluateXPath answers unions once each, in document order", () => {
  assert.deepEqual(select("//target/@dev | /domain/name | //target/@dev"), [
    "<name>web</name>",
    ' dev="vda"',
    ' dev="sda"',
  ]);
});

Deno.test("evaluateXPath refuses what the subset cannot evaluate with libvirt's code 1", () => {
  for (
    const expression of ["count(//disk)", "//disk[", "1 + 1", "", "x".repeat(XPATH_MAX_CHARS + 1)]
  ) {
    assert.throws(
      () => evaluateXPath(DOMAIN, expression),
      (error: Error & { code?: number }) =>
        error.code === 1 && error.message === `Incorrect xpath '${expression}'`,
      expression,
    );
  }
});

Deno.test("formatXPathNode and wrapXPathNodes write what virsh prints", () => {
  const disks = evaluateXPath(DOMAIN, "//disk[2]");
  assert.equal(
    formatXPathNode(disks[0]),
    '<disk type="file" device="cdrom">\n  <target dev="sda" bus="sata"/>\n</disk>',
  );
  assert.equal(wrapXPathNodes(evaluateXPath(DOMAIN, "//target/@bus")), '<nodes bus="sata"/>');
  assert.equal(
    wrapXPathNodes(evaluateXPath(DOMAIN, "/domain/name")),
    "<nodes>\n  <name>web</name>\n</nodes>",
  );
  assert.equal(wrapXPathNodes([]), "<nodes/>");
});
