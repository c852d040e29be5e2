import assert from "node:assert/strict";
import { readXml, XmlSyntaxError } from "../../../src/xml/xml_reader.ts";

function refusal(text: string, options = {}): XmlSyntaxError {
  try {
    readXml(text, options);
  } catch (error) {
    assert.ok(error instanceof XmlSyntaxError, `expected XmlSyntaxError, got ${error}`);
    assert.equal(error.code, 27);
    return error;
  }
  assert.fail(`accepted: ${text}`);
}

Deno.test("readXml reads elements, attributes and decoded text", () => {
  const root = readXml(
    `<?xml version="1.0"?>\n<a x="1" y='&lt;&amp;&#x41;&#66;'><b>t &gt; u</b><c/></a>`,
  );
  assert.deepStrictEqual(root, {
    name: "a",
    attributes: { x: "1", y: "<&AB" },
    children: [{ name: "b", children: ["t > u"] }, { name: "c" }],
  });
});

Deno.test("readXml drops indentation but keeps leaf text and mixed content exactly", () => {
  const root = readXml("<a>\n  <b>  two  spaces </b>\n  <c>x <i>y</i> z</c>\n</a>");
  assert.deepStrictEqual(root.children, [
    { name: "b", children: ["  two  spaces "] },
    { name: "c", children: ["x ", { name: "i", children: ["y"] }, " z"] },
  ]);
});

Deno.test("readXml normalises line ends and attribute whitespace as XML requires", () => {
  const root = readXml("<a v='one\ttwo\r\nthree&#10;four'>l1\r\nl2\rl3</a>");
  assert.equal(root.attributes?.v, "one two three\nfour");
  assert.deepStrictEqual(root.children, ["l1\nl2\nl3"]);
});

Deno.test("readXml reads CDATA as text and skips comments and processing instructions", () => {
  const root = readXml("<!-- c --><a><?pi x?>x<!-- y --><![CDATA[<&>]]>z</a><!-- after -->");
  assert.deepStrictEqual(root.children, ["x<&>z"]);
});

Deno.test("readXml refuses any DOCTYPE, so no entity can be defined", () => {
  const error = refusal(`<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><a>&x;</a>`);
  assert.match(error.message, /DOCTYPE is not allowed/);
  assert.match(refusal("<a><!DOCTYPE a></a>").message, /DOCTYPE/);
});

Deno.test("readXml refuses references to undefined entities", () => {
  assert.match(refusal("<a>&lol;</a>").message, /entity 'lol' is not defined/);
  assert.match(refusal("<a>&#0;</a>").message, /invalid character reference/);
  assert.match(refusal("<a>& b</a>").message, /must start an entity/);
});

Deno.test("readXml refuses malformed markup", () => {
  const cases: [string, RegExp][] = [
    ["<a><b></a>", /mismatch: b and a/],
    ["<a>", /premature end/],
    ["<a></a><b/>", /extra content/],
    ["<a></a>text", /extra content/],
    ["text<a/>", /does not start with an element/],
    ["", /empty/],
    ["<a x='1' x='2'/>", /redefined/],
    ["<a x=1/>", /not quoted/],
    ["<a x/>", /mandates value/],
    ["<a x='1'y='2'/>", /attributes construct error/],
    ["<a x='<'/>", /'<' is not allowed/],
    ["<1a/>", /invalid element name/],
    ["<a>]]></a>", /not allowed in text/],
    ["<a><!-- open</a>", /comment is not closed/],
    ["<a><![CDATA[x</a>", /CDATA section is not closed/],
  ];
  for (const [text, problem] of cases) assert.match(refusal(text).message, problem, text);
});

Deno.test("readXml refuses a document larger than maxBytes, counting UTF-8 bytes", () => {
  assert.match(refusal("<a>xxxx</a>", { maxBytes: 10 }).message, /larger than 10 bytes/);
  assert.equal(readXml("<a>xxx</a>", { maxBytes: 10 }).name, "a");
  // 4 characters of 3 bytes each: 12 bytes in a 9-character document.
  assert.match(refusal("<a>€€€€</a>".slice(0, 10), { maxBytes: 16 }).message, /larger than 16/);
});

Deno.test("readXml refuses nesting deeper than maxDepth", () => {
  const deep = (levels: number) => "<a>".repeat(levels) + "</a>".repeat(levels);
  assert.equal(readXml(deep(5), { maxDepth: 5 }).name, "a");
  assert.match(refusal(deep(6), { maxDepth: 5 }).message, /deeper than 5 levels/);
  assert.match(refusal(deep(100_000)).message, /deeper than 256 levels/);
});

Deno.test("readXml refuses characters XML forbids", () => {
  assert.match(refusal("<a>\u0001</a>").message, /U\+0001 is not allowed/);
});

Deno.test("readXml refuses more elements than maxElements at the first one beyond", () => {
  const flat = (count: number) => `<a>${"<b/>".repeat(count - 1)}</a>`;
  assert.equal(readXml(flat(5), { maxElements: 5 }).children?.length, 4);
  const error = refusal(flat(6), { maxElements: 5 });
  assert.match(error.message, /more than 5 elements \(line 1, column 22, in \/a\)/);
  assert.match(refusal(flat(50_001)).message, /more than 50000 elements/);
});

Deno.test("readXml reports the line, column and open elements of a problem", () => {
  const error = refusal("<domain>\n  <devices>\n    <disk></devices>");
  assert.equal(error.where, "line 3, column 11, in /domain/devices/disk");
});

Deno.test("readXml rejects non-positive limits as a programming error", () => {
  assert.throws(() => readXml("<a/>", { maxBytes: 0 }), TypeError);
});
