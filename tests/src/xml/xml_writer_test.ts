import assert from "node:assert/strict";
import { readXml } from "../../../src/xml/xml_reader.ts";
import { writeXml } from "../../../src/xml/xml_writer.ts";

Deno.test("writeXml indents element content by two spaces and ends with a newline", () => {
  const text = writeXml({
    name: "a",
    children: [{ name: "b", children: [{ name: "c" }] }, { name: "d", children: ["t"] }],
  });
  assert.equal(text, "<a>\n  <b>\n    <c/>\n  </b>\n  <d>t</d>\n</a>\n");
});

Deno.test("writeXml escapes what XML would otherwise change", () => {
  const element = { name: "a", attributes: { v: `'"<>&\t\n\r` }, children: ["<&>\r"] };
  const text = writeXml(element);
  assert.equal(text, "<a v='&apos;&quot;&lt;&gt;&amp;&#9;&#10;&#13;'>&lt;&amp;&gt;&#13;</a>\n");
  assert.deepStrictEqual(readXml(text), element);
});

Deno.test("writeXml writes mixed content without adding whitespace", () => {
  const element = {
    name: "p",
    children: ["x ", { name: "b", children: ["y"] }, { name: "br" }, " z"],
  };
  assert.equal(writeXml(element), "<p>x <b>y</b><br/> z</p>\n");
  assert.deepStrictEqual(readXml(writeXml(element)), element);
});
