import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import {
  completeMagic,
  encodeSaveHeader,
  parseSaveHeader,
  readSaveHeader,
  rewriteSaveHeader,
  SAVE_HEADER_BYTES,
  SAVE_PADDING_BYTES,
} from "../../../src/storage/save_image.ts";

const XML = "<domain type='qemu'><name>a</name></domain>";

function failsWith(message: string) {
  return (error: unknown) =>
    isVirtError(error, ErrorCode.OPERATION_FAILED) && (error as Error).message === message;
}

Deno.test("encodeSaveHeader() writes libvirt's 92-byte header, the XML and 64 KiB of room", () => {
  const bytes = encodeSaveHeader({ xml: XML, wasRunning: true }, true);
  const view = new DataView(bytes.buffer);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 16)), "LibvirtQemudSave");
  assert.equal(view.getUint32(16, true), 2);
  assert.equal(view.getUint32(20, true), XML.length + 1 + SAVE_PADDING_BYTES);
  assert.equal(view.getUint32(24, true), 1);
  assert.equal(view.getUint32(28, true), 0);
  assert.equal(view.getUint32(32, true), 0, "no cookie");
  assert.ok(bytes.subarray(36, SAVE_HEADER_BYTES).every((byte) => byte === 0), "unused is zero");
  assert.equal(bytes.length, SAVE_HEADER_BYTES + XML.length + 1 + SAVE_PADDING_BYTES);
});

Deno.test("encodeSaveHeader() marks an image partial until the stream is in", () => {
  const bytes = encodeSaveHeader({ xml: XML, wasRunning: false }, false);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 16)), "LibvirtQemudPart");
  assert.equal(parseSaveHeader(bytes).complete, false);
  assert.equal(new TextDecoder().decode(completeMagic()), "LibvirtQemudSave");
});

Deno.test("encodeSaveHeader() puts a cookie after the XML and records its offset", () => {
  const bytes = encodeSaveHeader({ xml: XML, cookie: "<qemu-migration/>", wasRunning: true }, true);
  const parsed = parseSaveHeader(bytes);
  assert.equal(parsed.cookieOffset, XML.length + 1);
});

Deno.test("encodeSaveHeader() refuses an XML longer than the image's room", () => {
  assert.throws(
    () => encodeSaveHeader({ xml: XML, wasRunning: true, dataBytes: 10 }, true),
    failsWith("new xml too large to fit in file"),
  );
});

Deno.test("parseSaveHeader() refuses a foreign magic, a newer version and a zero length", () => {
  const good = encodeSaveHeader({ xml: XML, wasRunning: true }, true);
  const foreign = good.slice();
  foreign.set(new TextEncoder().encode("QEVM"), 0);
  assert.throws(() => parseSaveHeader(foreign), failsWith("image magic is incorrect"));
  const newer = good.slice();
  new DataView(newer.buffer).setUint32(16, 3, true);
  assert.throws(() => parseSaveHeader(newer), /image version is not supported/);
  const empty = good.slice();
  new DataView(empty.buffer).setUint32(20, 0, true);
  assert.throws(() => parseSaveHeader(empty), failsWith("invalid header data length: 0"));
  assert.throws(
    () => parseSaveHeader(good.subarray(0, 10)),
    failsWith("failed to read qemu header"),
  );
});

Deno.test("readSaveHeader() reads the XML and where the stream starts; refuses partial images", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.save`;
    const header = encodeSaveHeader({ xml: XML, wasRunning: true }, false);
    await Deno.writeFile(path, new Uint8Array([...header, 1, 2, 3]));
    await assert.rejects(() => readSaveHeader(path), failsWith("save image is incomplete"));
    const partial = await readSaveHeader(path, { allowPartial: true });
    assert.equal(partial.complete, false);
    assert.equal(partial.xml, XML);
    assert.equal(partial.streamOffset, header.length);
    await assert.rejects(
      () => readSaveHeader(`${dir}/missing.save`),
      (error) =>
        isVirtError(error, ErrorCode.SYSTEM_ERROR) &&
        (error as Error).message.endsWith("No such file or directory"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSaveHeader() refuses an image cut inside its XML", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.save`;
    const header = encodeSaveHeader({ xml: XML, wasRunning: true }, true);
    await Deno.writeFile(path, header.subarray(0, SAVE_HEADER_BYTES + 5));
    await assert.rejects(() => readSaveHeader(path), failsWith("failed to read domain XML"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rewriteSaveHeader() replaces the XML in place and keeps the stream", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.save`;
    const header = encodeSaveHeader({ xml: XML, wasRunning: true }, true);
    await Deno.writeFile(path, new Uint8Array([...header, 7, 8, 9]));
    const longer = XML.replace("<name>a</name>", "<name>a</name><title>t</title>");
    await rewriteSaveHeader(path, longer, false);
    const after = await readSaveHeader(path);
    assert.equal(after.xml, longer);
    assert.equal(after.wasRunning, false);
    assert.equal(after.streamOffset, header.length);
    const bytes = await Deno.readFile(path);
    assert.deepEqual([...bytes.subarray(bytes.length - 3)], [7, 8, 9]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
