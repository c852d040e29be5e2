import assert from "node:assert/strict";
import {
  parseQcow2Header,
  QCOW2_HEADER_READ_BYTES,
  Qcow2HeaderError,
  readQcow2Header,
} from "../../../src/storage/qcow2_header.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";
import { run, withTempDir } from "./_block_images.ts";

const PATH = "/images/a.qcow2";

/** A sound header built field by field, so each test breaks exactly one thing. */
function headerBytes(
  fields: {
    magic?: number;
    version?: number;
    clusterBits?: number;
    virtualSize?: bigint;
    backingFileOffset?: bigint;
    cryptMethod?: number;
    headerLength?: number;
  } = {},
): Uint8Array {
  const bytes = new Uint8Array(QCOW2_HEADER_READ_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, fields.magic ?? 0x514649fb);
  view.setUint32(4, fields.version ?? 3);
  view.setBigUint64(8, fields.backingFileOffset ?? 0n);
  view.setUint32(20, fields.clusterBits ?? 16);
  view.setBigUint64(24, fields.virtualSize ?? 1073741824n);
  view.setUint32(32, fields.cryptMethod ?? 0);
  view.setUint32(100, fields.headerLength ?? 112);
  return bytes;
}

function rejectsWith(bytes: Uint8Array, problem: string): void {
  assert.throws(
    () => parseQcow2Header(bytes, PATH),
    (error: unknown) =>
      error instanceof Qcow2HeaderError &&
      error.code === ErrorCode.OPERATION_FAILED &&
      error.where === PATH &&
      error.message === `invalid qcow2 header in '${PATH}': ${problem}`,
  );
}

Deno.test("parseQcow2Header() reads a version 3 header", () => {
  assert.deepEqual(parseQcow2Header(headerBytes(), PATH), {
    version: 3,
    clusterBits: 16,
    virtualSizeBytes: 1073741824,
    hasBackingFile: false,
    encrypted: false,
    headerBytes: 112,
  });
});

Deno.test("parseQcow2Header() reads a version 2 header of 72 bytes", () => {
  const bytes = headerBytes({ version: 2, virtualSize: 10737418240n }).subarray(0, 72);
  const header = parseQcow2Header(bytes, PATH);
  assert.equal(header.version, 2);
  assert.equal(header.virtualSizeBytes, 10737418240);
  assert.equal(header.headerBytes, 72);
});

Deno.test("parseQcow2Header() reads the virtual size as a big-endian u64 at byte 24", () => {
  const header = parseQcow2Header(headerBytes({ virtualSize: 0x0000_0123_4567_8a00n }), PATH);
  assert.equal(header.virtualSizeBytes, 0x0000_0123_4567_8a00);
});

Deno.test("parseQcow2Header() reports a backing file and encryption", () => {
  const header = parseQcow2Header(headerBytes({ backingFileOffset: 0x200n, cryptMethod: 2 }), PATH);
  assert.equal(header.hasBackingFile, true);
  assert.equal(header.encrypted, true);
});

Deno.test("parseQcow2Header() reads a header inside a larger buffer", () => {
  const buffer = new Uint8Array(16 + QCOW2_HEADER_READ_BYTES);
  buffer.set(headerBytes({ virtualSize: 4096n }), 16);
  assert.equal(parseQcow2Header(buffer.subarray(16), PATH).virtualSizeBytes, 4096);
});

Deno.test("parseQcow2Header() refuses bad magic", () => {
  rejectsWith(headerBytes({ magic: 0x514649fa }), "bad magic 0x514649fa");
});

Deno.test("parseQcow2Header() refuses an empty file", () => {
  rejectsWith(new Uint8Array(0), "truncated: 0 bytes, not even a magic and version");
});

Deno.test("parseQcow2Header() refuses versions other than 2 and 3", () => {
  rejectsWith(headerBytes({ version: 1 }), "unsupported version 1");
  rejectsWith(headerBytes({ version: 4 }), "unsupported version 4");
});

Deno.test("parseQcow2Header() refuses a version 3 header cut before 104 bytes", () => {
  rejectsWith(headerBytes().subarray(0, 103), "truncated: 103 bytes, a version 3 header needs 104");
});

Deno.test("parseQcow2Header() refuses a version 2 header cut before 72 bytes", () => {
  rejectsWith(
    headerBytes({ version: 2 }).subarray(0, 71),
    "truncated: 71 bytes, a version 2 header needs 72",
  );
});

Deno.test("parseQcow2Header() refuses cluster bits outside 9..21", () => {
  rejectsWith(headerBytes({ clusterBits: 8 }), "cluster bits 8 outside 9..21");
  rejectsWith(headerBytes({ clusterBits: 22 }), "cluster bits 22 outside 9..21");
  assert.equal(parseQcow2Header(headerBytes({ clusterBits: 9 }), PATH).clusterBits, 9);
  assert.equal(parseQcow2Header(headerBytes({ clusterBits: 21 }), PATH).clusterBits, 21);
});

Deno.test("parseQcow2Header() refuses a version 3 header length below 104", () => {
  rejectsWith(headerBytes({ headerLength: 72 }), "header length 72 below 104");
});

Deno.test("parseQcow2Header() refuses a virtual size beyond 2^53 - 1", () => {
  rejectsWith(headerBytes({ virtualSize: 1n << 60n }), `virtual size ${1n << 60n} is too large`);
});

Deno.test("readQcow2Header() reports a missing file as a system error naming it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/absent.qcow2`;
    await assert.rejects(
      readQcow2Header(path),
      (error: unknown) =>
        isVirtError(error, ErrorCode.SYSTEM_ERROR) &&
        error.message === `cannot open file '${path}': No such file or directory`,
    );
  });
});

Deno.test("readQcow2Header() refuses a file shorter than a header", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/short.qcow2`;
    await Deno.writeFile(path, headerBytes().subarray(0, 60));
    await assert.rejects(
      readQcow2Header(path),
      (error: unknown) =>
        error instanceof Qcow2HeaderError &&
        error.message === `invalid qcow2 header in '${path}': truncated: 60 bytes, ` +
            "a version 3 header needs 104",
    );
  });
});

Deno.test("readQcow2Header() answers an aborted read with OPERATION_ABORTED", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/a.qcow2`;
    await Deno.writeFile(path, headerBytes());
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      readQcow2Header(path, { signal: controller.signal }),
      (error: unknown) => isVirtError(error, ErrorCode.OPERATION_ABORTED),
    );
  });
});

const needsQemuImg = missing("qemu-img");

testIf("readQcow2Header() reads images made by qemu-img, both versions", needsQemuImg, async () => {
  await withTempDir(async (dir) => {
    const v3 = `${dir}/v3.qcow2`;
    const v2 = `${dir}/v2.qcow2`;
    await run("qemu-img", ["create", "-q", "-f", "qcow2", v3, "1G"]);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "compat=0.10", v2, "3G"]);
    const header3 = await readQcow2Header(v3);
    assert.equal(header3.version, 3);
    assert.equal(header3.virtualSizeBytes, 1073741824);
    assert.equal(header3.clusterBits, 16);
    assert.ok(header3.headerBytes >= 104, `${header3.headerBytes}`);
    const header2 = await readQcow2Header(v2);
    assert.equal(header2.version, 2);
    assert.equal(header2.virtualSizeBytes, 3 * 1073741824);
  });
});

testIf("readQcow2Header() sees a backing file set by qemu-img", needsQemuImg, async () => {
  await withTempDir(async (dir) => {
    const base = `${dir}/base.qcow2`;
    const overlay = `${dir}/overlay.qcow2`;
    await run("qemu-img", ["create", "-q", "-f", "qcow2", base, "1G"]);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay]);
    assert.equal((await readQcow2Header(overlay)).hasBackingFile, true);
    assert.equal((await readQcow2Header(base)).hasBackingFile, false);
  });
});

testIf(
  "readQcow2Header() refuses a qemu-img image whose magic was overwritten",
  needsQemuImg,
  async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/corrupt.qcow2`;
      await run("qemu-img", ["create", "-q", "-f", "qcow2", path, "1G"]);
      const file = await Deno.open(path, { write: true });
      try {
        await file.write(new TextEncoder().encode("XXXX"));
      } finally {
        file.close();
      }
      await assert.rejects(
        readQcow2Header(path),
        (error: unknown) =>
          error instanceof Qcow2HeaderError &&
          error.message === `invalid qcow2 header in '${path}': bad magic 0x58585858`,
      );
    });
  },
);
