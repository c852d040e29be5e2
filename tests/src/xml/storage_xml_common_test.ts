import assert from "node:assert/strict";
import {
  parsePermissions,
  parseSize,
  parseUuid,
  sanitizePath,
} from "../../../src/xml/storage_xml_common.ts";
import { readXml } from "../../../src/xml/xml_reader.ts";

Deno.test("sanitizePath collapses slashes and drops a trailing one, keeping POSIX's leading //", () => {
  assert.equal(sanitizePath("///var/////lib//"), "/var/lib");
  assert.equal(sanitizePath("//host/share/"), "//host/share");
  assert.equal(sanitizePath("//"), "//");
  assert.equal(sanitizePath("///"), "/");
  assert.equal(sanitizePath("/"), "/");
});

Deno.test("parsePermissions reads octal modes and decimal ids, -1 meaning unset", () => {
  const element = readXml(
    "<permissions><mode>0750</mode><owner>0744</owner><group>-1</group><label>l</label></permissions>",
  );
  assert.deepEqual(parsePermissions(element, "/p"), { mode: 0o750, owner: 744, label: "l" });
  assert.throws(
    () => parsePermissions(readXml("<permissions><mode>8</mode></permissions>"), "/p"),
    {
      code: 27,
      message: "malformed octal mode",
    },
  );
  assert.throws(
    () => parsePermissions(readXml("<permissions><owner>4294967296</owner></permissions>"), "/p"),
    { code: 27, message: "malformed owner element" },
  );
});

Deno.test("parseSize refuses what is not a non-negative decimal", () => {
  assert.equal(parseSize("10", "KiB", "/c"), 10240n);
  assert.throws(() => parseSize("1e3", undefined, "/c"), { code: 27 });
  assert.throws(() => parseSize("0x10", undefined, "/c"), { code: 27 });
});

Deno.test("parseUuid accepts libvirt's dash placements and writes the canonical form", () => {
  assert.equal(
    parseUuid("70A7EB156C34EE9CBF5769E8E5FF3FB2", "/u"),
    "70a7eb15-6c34-ee9c-bf57-69e8e5ff3fb2",
  );
  assert.throws(() => parseUuid("70a7eb15", "/u"), { code: 27, message: "malformed uuid element" });
});
