import assert from "node:assert/strict";
import { formatVolumeXml } from "../../../src/xml/format_storage_volume.ts";
import { parseVolumeXml } from "../../../src/xml/parse_storage_volume.ts";

const volume = (inner: string) => `<volume><name>v</name>${inner}</volume>`;

Deno.test("parseVolumeXml scales capacity units as libvirt (G = GiB, GB = 10^9)", () => {
  assert.equal(
    parseVolumeXml(volume("<capacity unit='G'>2</capacity>"), "dir").capacityBytes,
    2n * 1024n ** 3n,
  );
  assert.equal(
    parseVolumeXml(volume("<capacity unit='GB'>2</capacity>"), "dir").capacityBytes,
    2n * 10n ** 9n,
  );
});

Deno.test("parseVolumeXml makes allocation default to capacity", () => {
  const parsed = parseVolumeXml(volume("<capacity>4096</capacity>"), "dir");
  assert.equal(parsed.allocationBytes, 4096n);
  assert.equal(parsed.allocationGiven, false);
});

Deno.test("parseVolumeXml refuses a missing capacity, an unknown unit and an overflow", () => {
  assert.throws(() => parseVolumeXml(volume(""), "dir"), {
    code: 27,
    message: "missing capacity element",
  });
  assert.throws(() => parseVolumeXml(volume("<capacity unit='furlong'>1</capacity>"), "dir"), {
    code: 8,
  });
  assert.throws(() => parseVolumeXml(volume("<capacity unit='E'>8</capacity>"), "dir"), {
    code: 82,
  });
  assert.throws(() => parseVolumeXml(volume("<capacity>-1</capacity>"), "dir"), { code: 27 });
});

Deno.test("parseVolumeXml takes the pool's default format and refuses one it does not know", () => {
  assert.equal(parseVolumeXml(volume("<capacity>1</capacity>"), "dir").format, "raw");
  assert.equal(parseVolumeXml(volume("<capacity>1</capacity>"), "logical").format, undefined);
  assert.equal(parseVolumeXml(volume("<capacity>1</capacity>"), "disk").format, "none");
  assert.throws(
    () =>
      parseVolumeXml(volume("<capacity>1</capacity><target><format type='luks'/></target>"), "dir"),
    { code: 67, message: "unknown volume format type luks" },
  );
});

Deno.test("parseVolumeXml gives features compat 1.1 and refuses an unknown feature", () => {
  const parsed = parseVolumeXml(
    volume(
      "<capacity>1</capacity><target><format type='qcow2'/><features><lazy_refcounts/></features></target>",
    ),
    "dir",
  );
  assert.equal(parsed.compat, "1.1");
  assert.deepEqual(parsed.features, ["lazy_refcounts"]);
  assert.throws(
    () =>
      parseVolumeXml(
        volume("<capacity>1</capacity><target><features><turbo/></features></target>"),
        "dir",
      ),
    { code: 67, message: "unsupported feature turbo" },
  );
  assert.throws(
    () =>
      parseVolumeXml(volume("<capacity>1</capacity><target><compat>1.x</compat></target>"), "dir"),
    { code: 27, message: "forbidden characters in 'compat' attribute" },
  );
});

Deno.test("parseVolumeXml needs a capacity with a backing store only when the rule says so", () => {
  const xml = volume("<backingStore><path>/b</path></backingStore>");
  assert.throws(() => parseVolumeXml(xml, "dir"), { code: 27 });
  assert.equal(parseVolumeXml(xml, "dir", { capacity: "optional-with-backing" }).capacityBytes, 0n);
});

Deno.test("formatVolumeXml writes a volume of a pool without formats without <format>", () => {
  const parsed = parseVolumeXml(
    volume("<capacity>1</capacity><target><path>/dev/vg/v</path></target>"),
    "logical",
  );
  assert.ok(!formatVolumeXml(parsed, "logical").includes("<format"));
});
