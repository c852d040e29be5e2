/**
 * The image the test hypervisor answers `screenshot` with, as libvirt's test driver answers a
 * PNG: a small grey PNG made here (a valid file any viewer opens), never a real display.
 *
 * @module
 */

import { concatBytes } from "../../src/model/byte_chunks.ts";
import { deflateSync } from "node:zlib";

/** The image's side, in pixels. */
export const TEST_SCREENSHOT_SIDE_PIXELS = 16;

/**
 * A `TEST_SCREENSHOT_SIDE_PIXELS`-square grey PNG.
 *
 * @example
 * ```ts
 * import { testScreenshotPng } from "./test_screenshot.ts";
 * console.log(testScreenshotPng().subarray(1, 4)); // "PNG" as bytes
 * ```
 */
export function testScreenshotPng(): Uint8Array<ArrayBuffer> {
  const side = TEST_SCREENSHOT_SIDE_PIXELS;
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, side);
  view.setUint32(4, side);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, deflate, no filter choice, no interlace
  const rows = new Uint8Array(side * (side + 1)).fill(0x80);
  for (let row = 0; row < side; row++) rows[row * (side + 1)] = 0; // filter byte: none
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(rows))),
    chunk("IEND", new Uint8Array(0)),
  ];
  return concatBytes(parts);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
