import assert from "node:assert/strict";
import { decodeXdr, encodeXdr, x, XdrError } from "../../../src/rpc/xdr.ts";
import { TypedParam, typedParamType } from "../../../src/rpc/protocol.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("encodeXdr and decodeXdr round-trip every kind", () => {
  const type = x.struct(
    ["i", x.int],
    ["u", x.uint],
    ["h", x.hyper],
    ["uh", x.uhyper],
    ["b", x.bool],
    ["d", x.double],
    ["s", x.string(64)],
    ["o", x.opaque(8)],
    ["f", x.fixed(3)],
    ["opt", x.optional(x.int)],
    ["none", x.optional(x.int)],
    ["a", x.array(x.int, 4)],
    ["v", x.vector(x.int, 2)],
    ["un", x.union({ 1: x.int, 7: x.string(10) })],
  );
  const value = {
    i: -5,
    u: 0xffff_ffff,
    h: -(2n ** 62n),
    uh: 2n ** 64n - 1n,
    b: true,
    d: 1.5,
    s: "héllo",
    o: bytes(1, 2, 3),
    f: bytes(9, 8, 7),
    opt: 42,
    none: null,
    a: [1, 2, 3],
    v: [4, 5],
    un: { type: 7, value: "str" },
  };
  const encoded = encodeXdr(type, value);
  assert.equal(encoded.length % 4, 0);
  const decoded = decodeXdr(type, encoded);
  assert.equal(decoded.offset, encoded.length);
  assert.deepEqual(decoded.value, value);
});

Deno.test("encodeXdr pads strings and opaques to four bytes with zeros", () => {
  assert.deepEqual(
    encodeXdr(x.string(8), "abcde"),
    bytes(0, 0, 0, 5, 97, 98, 99, 100, 101, 0, 0, 0),
  );
  assert.deepEqual(encodeXdr(x.fixed(1), bytes(0xff)), bytes(0xff, 0, 0, 0));
});

Deno.test("decodeXdr refuses truncated input and names the field", () => {
  const type = x.struct(["name", x.string(100)], ["id", x.int]);
  const encoded = encodeXdr(type, { name: "web", id: 3 });
  for (let length = 0; length < encoded.length; length++) {
    assert.throws(
      () => decodeXdr(type, encoded.subarray(0, length)),
      (error: unknown) =>
        error instanceof XdrError && /truncated XDR at (name|id)/.test(error.message),
      `length ${length}`,
    );
  }
});

Deno.test("decodeXdr refuses an array longer than its maximum before reading it", () => {
  const encoded = bytes(0, 0, 0, 5, 0, 0, 0, 1);
  assert.throws(
    () => decodeXdr(x.array(x.int, 4), encoded),
    /array value has 5 elements, more than 4/,
  );
});

Deno.test("decodeXdr refuses an array length the input cannot hold without allocating it", () => {
  assert.throws(
    () => decodeXdr(x.array(x.int, 0xffff_ffff), bytes(0x7f, 0xff, 0xff, 0xff)),
    /truncated XDR/,
  );
});

Deno.test("decodeXdr refuses a string longer than its maximum", () => {
  assert.throws(() => decodeXdr(x.string(2), encodeXdr(x.string(8), "abc")), /more than 2/);
});

Deno.test("decodeXdr refuses a string that is not UTF-8", () => {
  assert.throws(
    () => decodeXdr(x.string(8), bytes(0, 0, 0, 2, 0xc3, 0x28, 0, 0)),
    /string value is not valid UTF-8/,
  );
});

Deno.test("decodeXdr refuses a boolean or optional flag other than 0 or 1", () => {
  assert.throws(() => decodeXdr(x.bool, bytes(0, 0, 0, 2)), /not 0 or 1/);
  assert.throws(() => decodeXdr(x.optional(x.int), bytes(0, 0, 0, 9, 0, 0, 0, 0)), /not 0 or 1/);
});

Deno.test("decodeXdr refuses an unknown union arm", () => {
  assert.throws(
    () =>
      decodeXdr(
        typedParamType,
        encodeXdr(x.struct(["f", x.string(9)], ["t", x.int]), { f: "a", t: 99 }),
      ),
    /unknown arm 99/,
  );
});

Deno.test("typed parameters carry each kind libvirt defines", () => {
  for (
    const value of [
      { type: TypedParam.INT, value: -1 },
      { type: TypedParam.UINT, value: 7 },
      { type: TypedParam.LLONG, value: -(2n ** 40n) },
      { type: TypedParam.ULLONG, value: 2n ** 63n },
      { type: TypedParam.DOUBLE, value: 0.25 },
      { type: TypedParam.BOOLEAN, value: 1 },
      { type: TypedParam.STRING, value: "vda" },
    ]
  ) {
    const param = { field: "k", value };
    assert.deepEqual(decodeXdr(typedParamType, encodeXdr(typedParamType, param)).value, param);
  }
});

Deno.test("encodeXdr refuses values that do not fit their type", () => {
  assert.throws(() => encodeXdr(x.int, 2 ** 31), /out of range/);
  assert.throws(() => encodeXdr(x.uint, -1), /out of range/);
  assert.throws(() => encodeXdr(x.uhyper, -1n), /out of range/);
  assert.throws(() => encodeXdr(x.hyper, 1.5), /not an integer/);
  assert.throws(() => encodeXdr(x.array(x.int, 1), [1, 2]), /more than 1/);
  assert.throws(() => encodeXdr(x.struct(["a", x.int]), {}), /field a is missing/);
  assert.throws(() => encodeXdr(x.string(100), "a".repeat(100), 16), /exceeds 16 bytes/);
});
