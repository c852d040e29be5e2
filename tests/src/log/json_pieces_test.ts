import assert from "node:assert/strict";
import {
  copiedChars,
  joinJsonTexts,
  jsonTextChars,
  jsonTextString,
  jsonTextUtf8,
  sharedCopy,
  shareJsonText,
} from "../../../src/log/json_pieces.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

Deno.test("shareJsonText writes strings and UTF-8 pieces into one piece of shared memory", () => {
  const text = '{"d":"ü€😀"}';
  const shared = shareJsonText(['{"d":', utf8('"ü€😀"'), "}"], utf8(text).length, text.length);
  assert.equal(shared.pieces.length, 1);
  const [piece] = shared.pieces as Uint8Array[];
  assert.ok(piece.buffer instanceof SharedArrayBuffer);
  assert.deepEqual([...piece], [...utf8(text)]);
  assert.equal(jsonTextString(shared), text);
  assert.equal(jsonTextChars(shared), text.length);
  // Sent by reference: nothing of it is copied.
  assert.equal(copiedChars(shared), 0);
});

Deno.test("shareJsonText refuses pieces that are longer or shorter than the bytes given", () => {
  for (const bytes of [3, 5]) {
    assert.throws(() => shareJsonText(["ab", utf8("cd")], bytes, 4), RangeError);
  }
  assert.throws(() => shareJsonText(["é"], 1, 1), RangeError);
});

Deno.test("joinJsonTexts joins strings as a string and keeps shared pieces by reference", () => {
  assert.equal(joinJsonTexts(["{", '"a":1', "}"]), '{"a":1}');
  const inner = shareJsonText(['"é"'], 4, 3);
  const joined = joinJsonTexts(["{", '"a":', inner, ',"b":', inner, "}"]);
  assert.equal(typeof joined, "object");
  const { pieces } = joined as Exclude<typeof joined, string>;
  assert.equal(pieces[1], inner.pieces[0]);
  assert.equal(pieces[3], inner.pieces[0]);
  assert.deepEqual([pieces[0], pieces[2], pieces[4]], ['{"a":', ',"b":', "}"]);
  const expected = '{"a":"é","b":"é"}';
  assert.equal(jsonTextString(joined), expected);
  assert.equal(jsonTextChars(joined), expected.length);
  assert.equal(copiedChars(joined), expected.length - 6);
});

Deno.test("jsonTextUtf8 gives a string as it is, one shared piece itself, others joined", () => {
  assert.equal(jsonTextUtf8("[1]"), "[1]");
  const shared = shareJsonText(["[1]"], 3, 3);
  assert.equal(jsonTextUtf8(shared), shared.pieces[0]);
  const joined = jsonTextUtf8(joinJsonTexts(["[", shared, ",", shared, "]"]));
  assert.equal(new TextDecoder().decode(joined as Uint8Array), "[[1],[1]]");
});

Deno.test("sharedCopy copies bytes into shared memory", () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const copy = sharedCopy(bytes);
  assert.ok(copy.buffer instanceof SharedArrayBuffer);
  bytes[0] = 9;
  assert.deepEqual([...copy], [1, 2, 3]);
});
