import assert from "node:assert/strict";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { formatSecretXml } from "../../../src/xml/format_secret.ts";
import { parseSecretXml } from "../../../src/xml/parse_secret.ts";

const UUID = "e78d4b51-a2af-485f-b0f5-afca709a80f4";

Deno.test("secret XML round-trips as libvirt 9.0 writes it", () => {
  const xml = `<secret ephemeral='no' private='yes'>
  <uuid>${UUID}</uuid>
  <description>sample &amp; secret</description>
  <usage type='volume'>
    <volume>/var/lib/libvirt/images/x.img</volume>
  </usage>
</secret>
`;
  assert.equal(formatSecretXml(parseSecretXml(xml)), xml);
});

Deno.test("a secret without uuid or flags gets a uuid and both flags off", () => {
  const secret = parseSecretXml(
    "<secret><usage type='iscsi'><target>iqn.x</target></usage></secret>",
    () => UUID,
  );
  assert.deepEqual(secret, {
    uuid: UUID,
    ephemeral: false,
    private: false,
    usage: { type: "iscsi", id: "iqn.x" },
  });
  assert.equal(
    formatSecretXml(secret),
    `<secret ephemeral='no' private='no'>\n  <uuid>${UUID}</uuid>\n  <usage type='iscsi'>\n` +
      `    <target>iqn.x</target>\n  </usage>\n</secret>\n`,
  );
});

Deno.test("each usage type reads its own child", () => {
  for (const [type, child] of [["ceph", "name"], ["tls", "name"], ["vtpm", "name"]]) {
    const secret = parseSecretXml(
      `<secret><usage type='${type}'><${child}>n</${child}></usage></secret>`,
    );
    assert.deepEqual(secret.usage, { type, id: "n" });
  }
});

Deno.test("bad secret XML is refused with libvirt's code and message", () => {
  const cases: [string, number, string][] = [
    ["<secret ephemeral='maybe'/>", ErrorCode.XML_ERROR, "invalid value of 'ephemeral'"],
    ["<secret private='1'/>", ErrorCode.XML_ERROR, "invalid value of 'private'"],
    ["<secret><uuid>nope</uuid></secret>", ErrorCode.INTERNAL_ERROR, "malformed uuid element"],
    [
      "<secret><usage type='bogus'/></secret>",
      ErrorCode.CONFIG_UNSUPPORTED,
      "unknown secret usage type bogus",
    ],
    [
      "<secret><usage type='volume'/></secret>",
      ErrorCode.INTERNAL_ERROR,
      "volume usage specified, but volume path is missing",
    ],
    [
      "<secret><usage type='ceph'/></secret>",
      ErrorCode.INTERNAL_ERROR,
      "Ceph usage specified, but name is missing",
    ],
    ["<domain/>", ErrorCode.XML_ERROR, "expecting root element of 'secret', not 'domain'"],
  ];
  for (const [xml, code, message] of cases) {
    assert.throws(() => parseSecretXml(xml), (error: unknown) => {
      assert.ok(error instanceof VirtError, String(error));
      assert.equal(error.code, code, xml);
      assert.equal(error.message, message);
      return true;
    });
  }
});
