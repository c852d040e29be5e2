import assert from "node:assert/strict";
import {
  copiedChars,
  isJsonTextReleased,
  joinJsonTexts,
  type JsonPieces,
  jsonTextBuffers,
  jsonTextChars,
  jsonTextString,
  jsonTextUtf8,
  ownedJsonText,
  releaseJsonText,
  sharedCopy,
  withJsonTextUtf8,
} from "../../../src/log/json_pieces.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

Deno.test("ownedJsonText writes strings and UTF-8 pieces into one buffer of its own", () => {
  const text = '{"d":"ü€😀"}';
  const owned = ownedJsonText(['{"d":', utf8('"ü€😀"'), "}"], utf8(text).length, text.length);
  assert.equal(owned.pieces.length, 1);
  const [piece] = owned.pieces as Uint8Array[];
  assert.equal(piece.byteOffset, 0);
  assert.equal(piece.byteLength, piece.buffer.byteLength);
  assert.deepEqual([...piece], [...utf8(text)]);
  assert.equal(jsonTextString(owned), text);
  assert.equal(jsonTextChars(owned), text.length);
  // Moved, not copied: nothing of it counts as copied.
  assert.equal(copiedChars(owned), 0);
  assert.deepEqual(jsonTextBuffers(owned), [piece.buffer]);
});

Deno.test("ownedJsonText refuses pieces that are longer or shorter than the bytes given", () => {
  for (const bytes of [3, 5]) {
    assert.throws(() => ownedJsonText(["ab", utf8("cd")], bytes, 4), RangeError);
  }
  assert.throws(() => ownedJsonText(["é"], 1, 1), RangeError);
});

Deno.test("joinJsonTexts joins strings as a string and keeps UTF-8 pieces by reference", () => {
  assert.equal(joinJsonTexts(["{", '"a":1', "}"]), '{"a":1}');
  const inner = ownedJsonText(['"é"'], 4, 3);
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
  // One buffer, named once in a transfer list.
  assert.equal(jsonTextBuffers(joined).length, 1);
});

Deno.test("jsonTextUtf8 gives a string as it is, one UTF-8 piece itself, others joined", () => {
  assert.equal(jsonTextUtf8("[1]"), "[1]");
  const owned = ownedJsonText(["[1]"], 3, 3);
  assert.equal(jsonTextUtf8(owned), owned.pieces[0]);
  const joined = jsonTextUtf8(joinJsonTexts(["[", owned, ",", owned, "]"]));
  assert.equal(new TextDecoder().decode(joined as Uint8Array), "[[1],[1]]");
});

Deno.test("withJsonTextUtf8 frees the bytes it joined, never a piece", () => {
  const owned = ownedJsonText(["[1]"], 3, 3);
  let joined: Uint8Array | undefined;
  withJsonTextUtf8(joinJsonTexts(["[", owned, "]"]), (value) => {
    joined = value as Uint8Array;
    assert.equal(new TextDecoder().decode(joined), "[[1]]");
  });
  assert.ok((joined!.buffer as ArrayBuffer).detached);
  withJsonTextUtf8(owned, (value) => assert.equal(value, owned.pieces[0]));
  assert.equal(isJsonTextReleased(owned), false);
  assert.equal(jsonTextString(owned), "[1]");
});

Deno.test("a released or moved text reads as released and refuses to be read", async () => {
  const owned = ownedJsonText(["[1]"], 3, 3);
  const spliced = joinJsonTexts(["[", owned, "]"]);
  releaseJsonText(spliced);
  assert.ok(isJsonTextReleased(owned) && isJsonTextReleased(spliced));
  assert.throws(() => jsonTextString(spliced), /read after it was moved or released/);
  assert.throws(() => jsonTextUtf8(owned), /read after it was moved or released/);
  releaseJsonText(spliced); // twice: nothing more to do
  // Moved to another thread: the same here.
  const moved = ownedJsonText(["[2]"], 3, 3);
  const { port1, port2 } = new MessageChannel();
  const arrived = new Promise<JsonPieces>((resolve) => {
    port2.onmessage = (event) => resolve(event.data);
  });
  port1.postMessage(moved, jsonTextBuffers(moved));
  assert.ok(isJsonTextReleased(moved));
  assert.equal(jsonTextString(await arrived), "[2]");
  port1.close();
  port2.close();
  assert.equal(isJsonTextReleased("[3]"), false);
});

Deno.test("jsonTextBuffers refuses a piece that is part of a larger or shared buffer", () => {
  const whole = utf8("[1][2]");
  assert.throws(() => jsonTextBuffers({ pieces: [whole.subarray(0, 3)], chars: 3 }), RangeError);
  assert.throws(() => jsonTextBuffers({ pieces: [sharedCopy(utf8("[1]"))], chars: 3 }), RangeError);
});

Deno.test("sharedCopy copies bytes into shared memory", () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const copy = sharedCopy(bytes);
  assert.ok(copy.buffer instanceof SharedArrayBuffer);
  bytes[0] = 9;
  assert.deepEqual([...copy], [1, 2, 3]);
});
