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
