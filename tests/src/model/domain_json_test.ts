import assert from "node:assert/strict";
import { domainFromJson, JSON_XML_MAX_DEPTH } from "../../../src/model/domain_json.ts";
import { VirtError } from "../../../src/model/errors.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";

const XML =
  `<domain type='qemu' xmlns:x='urn:x'><name>j</name><memory>1024</memory><vcpu placement='static'>1</vcpu>
<os><type>hvm</type></os><features><acpi/></features><x:y a='b'/><devices>
<disk type='file'><source file='/a'/><target dev='vda'/><address type='pci' slot='3'/></disk>
<interface type='user'><mac address='52:54:00:00:00:01' check='no'/></interface></devices></domain>`;

function valid(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(parseDomainXml(XML)));
}

function refusal(value: unknown): VirtError {
  try {
    domainFromJson(value);
  } catch (error) {
    assert.ok(error instanceof VirtError);
    return error;
  }
  assert.fail("accepted");
}

Deno.test("domainFromJson accepts the JSON form of a parsed definition, unchanged", () => {
  const value = valid();
  assert.equal(domainFromJson(value), value);
  assert.deepStrictEqual(domainFromJson(value), parseDomainXml(XML));
});

Deno.test("domainFromJson refuses missing and unknown fields with a JSON pointer", () => {
  const missing = valid();
  delete missing.memoryKiB;
  assert.deepStrictEqual([refusal(missing).code, refusal(missing).where], [8, "/"]);
  const unknown = valid();
  (unknown.devices as { disks: Record<string, unknown>[] }).disks[0].colour = "red";
  assert.deepStrictEqual([refusal(unknown).message, refusal(unknown).where], [
    "unknown field 'colour'",
    "/devices/disks/0/colour",
  ]);
});

Deno.test("domainFromJson refuses values of the wrong type", () => {
  const cases: [(value: Record<string, unknown>) => void, string][] = [
    [(value) => value.memoryKiB = "1024", "/memoryKiB"],
    [(value) => value.vcpus = -1, "/vcpus"],
    [(value) => value.vcpus = 1.5, "/vcpus"],
    [(value) => (value.devices as { disks: unknown }).disks = {}, "/devices/disks"],
    [(value) => value.vcpu = { placement: 1 }, "/vcpu/placement"],
    [(value) => (value.features as Record<string, unknown>).acpi = { x: 1 }, "/features/acpi/x"],
    [
      (value) => (value.devices as { disks: { readonly?: unknown }[] }).disks[0].readonly = false,
      "/devices/disks/0/readonly",
    ],
    [
      (value) =>
        (value.devices as { disks: { address: Record<string, unknown> }[] }).disks[0].address.slot =
          "3",
      "/devices/disks/0/address/slot",
    ],
    [(value) => value.extra = { bogus: 1 }, "/extra/bogus"],
  ];
  for (const [change, where] of cases) {
    const value = valid();
    change(value);
    const error = refusal(value);
    assert.deepStrictEqual([error.code, error.where], [8, where], where);
  }
});

Deno.test("domainFromJson refuses verbatim XML that could not be written, with code 27", () => {
  const badName = valid();
  badName.metadata = [{ name: "1bad" }];
  assert.deepStrictEqual([refusal(badName).code, refusal(badName).where], [27, "/metadata/0/name"]);
  const badText = valid();
  badText.name = "a\u0000b";
  assert.equal(refusal(badText).code, 27);
});

Deno.test("domainFromJson bounds the nesting of verbatim XML", () => {
  let element: Record<string, unknown> = { name: "leaf" };
  for (let depth = 0; depth < JSON_XML_MAX_DEPTH + 1; depth++) {
    element = { name: "n", children: [element] };
  }
  const value = valid();
  value.metadata = [element];
  assert.match(refusal(value).message, /nesting deeper than/);
});

Deno.test("domainFromJson refuses what is not an object", () => {
  for (const value of [null, [], "x", 3]) {
    assert.equal(refusal(value).message, "expected an object");
  }
});
