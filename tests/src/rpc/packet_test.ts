import assert from "node:assert/strict";
import { encodePacket, FramingError, PacketReader } from "../../../src/rpc/packet.ts";

const header = { prog: 0x20008086, vers: 1, proc: 23, type: 0, serial: 9, status: 0 };

Deno.test("PacketReader splits packets arriving byte by byte and in one chunk", () => {
  const one = encodePacket(header, new Uint8Array([1, 2, 3, 4]));
  const two = encodePacket({ ...header, serial: 10 }, new Uint8Array());
  const joined = new Uint8Array([...one, ...two]);
  const reader = new PacketReader();
  const serials: number[] = [];
  for (const byte of joined) {
    reader.push(new Uint8Array([byte]));
    for (let packet = reader.next(); packet; packet = reader.next()) {
      serials.push(packet.header.serial);
    }
  }
  assert.deepEqual(serials, [9, 10]);
  const whole = new PacketReader();
  whole.push(joined);
  assert.deepEqual(whole.next()?.body, new Uint8Array([1, 2, 3, 4]));
  assert.equal(whole.next()?.header.serial, 10);
  assert.equal(whole.next(), undefined);
  assert.equal(whole.bufferedBytes, 0);
});

Deno.test("PacketReader refuses a length over 32 MiB before buffering the packet", () => {
  const reader = new PacketReader();
  assert.throws(
    () => reader.push(new Uint8Array([0x02, 0x00, 0x00, 0x01])),
    (error: unknown) => error instanceof FramingError && /too large/.test(error.message),
  );
});

Deno.test("PacketReader refuses a length shorter than the header", () => {
  const reader = new PacketReader();
  assert.throws(() => reader.push(new Uint8Array([0, 0, 0, 27])), /less than the header/);
});

Deno.test("PacketReader reads the header's signed and unsigned words", () => {
  const reader = new PacketReader();
  reader.push(
    encodePacket({ ...header, proc: -1, serial: 0xffff_fffe, status: 2 }, new Uint8Array()),
  );
  assert.deepEqual(reader.next()?.header, { ...header, proc: -1, serial: 0xffff_fffe, status: 2 });
});

Deno.test("PacketReader assembles a large packet in place, reads landing in its space", () => {
  const body = new Uint8Array(1000).map((_, index) => index % 251);
  const big = encodePacket(header, body);
  const after = encodePacket({ ...header, serial: 10 }, new Uint8Array([7]));
  const stream = new Uint8Array([...big, ...after]);
  const reader = new PacketReader();
  assert.equal(reader.space(100), undefined, "no length known yet: no space");
  reader.push(stream.subarray(0, 50));
  const got: { serial: number; body: number[] }[] = [];
  let at = 50;
  while (at < stream.length) {
    const space = reader.space(100);
    if (space !== undefined) {
      // A read lands in the space, never past the packet's end.
      const count = Math.min(space.length, 300);
      space.set(stream.subarray(at, at + count));
      reader.received(count);
      at += count;
    } else {
      reader.push(stream.subarray(at, at + 30));
      at += 30;
    }
    assert.ok(reader.bufferedBytes <= big.length + 30);
    for (let packet = reader.next(); packet; packet = reader.next()) {
      got.push({ serial: packet.header.serial, body: [...packet.body] });
    }
  }
  assert.deepEqual(got, [{ serial: 9, body: [...body] }, { serial: 10, body: [7] }]);
  assert.equal(reader.bufferedBytes, 0);
});
