import assert from "node:assert/strict";
import { parseBackingReference, readBackingChain } from "../../../src/storage/backing_chain.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** A version 3 qcow2 header naming `name` as backing file, with `format` in an extension. */
function qcow2Bytes(name?: string, format?: string): Uint8Array {
  const bytes = new Uint8Array(512);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x514649fb);
  view.setUint32(4, 3);
  view.setUint32(20, 16);
  view.setBigUint64(24, 1048576n);
  view.setUint32(100, 104);
  let offset = 104;
  if (format !== undefined) {
    const text = new TextEncoder().encode(format);
    view.setUint32(offset, 0xe2792aca);
    view.setUint32(offset + 4, text.length);
    bytes.set(text, offset + 8);
    offset += 8 + Math.ceil(text.length / 8) * 8;
  }
  view.setUint32(offset, 0); // end of extensions
  if (name !== undefined) {
    const text = new TextEncoder().encode(name);
    view.setBigUint64(8, 256n);
    view.setUint32(16, text.length);
    bytes.set(text, 256);
  }
  return bytes;
}

function assertVirtError(error: unknown, code: number, pattern: RegExp): true {
  assert.ok(error instanceof VirtError, String(error));
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  return true;
}

Deno.test("parseBackingReference finds the backing name and its format extension", () => {
  assert.deepEqual(parseBackingReference(qcow2Bytes("base.raw", "raw"), "/i/top.qcow2"), {
    name: "base.raw",
    format: "raw",
  });
  assert.deepEqual(parseBackingReference(qcow2Bytes("/b.qcow2"), "/i/top.qcow2"), {
    name: "/b.qcow2",
    format: undefined,
  });
  assert.equal(parseBackingReference(qcow2Bytes(), "/i/top.qcow2"), undefined);
});

Deno.test("parseBackingReference refuses a name beyond the bytes read", () => {
  const bytes = qcow2Bytes("base.raw", "raw");
  new DataView(bytes.buffer).setBigUint64(8, 4096n);
  assert.throws(() => parseBackingReference(bytes, "/i/top.qcow2"), /lies beyond/);
});

Deno.test("readBackingChain reads relative names against the image's folder and stops at raw", async () => {
  await withTempDir("evirt-chain-", async (dir) => {
    await Deno.writeFile(`${dir}/base.raw`, new Uint8Array(4096));
    await Deno.writeFile(`${dir}/mid.qcow2`, qcow2Bytes("base.raw", "raw"));
    await Deno.writeFile(`${dir}/top.qcow2`, qcow2Bytes(`${dir}/mid.qcow2`, "qcow2"));
    assert.deepEqual(await readBackingChain(`${dir}/top.qcow2`, "qcow2"), [
      { path: `${dir}/mid.qcow2`, format: "qcow2", kind: "file" },
      { path: `${dir}/base.raw`, format: "raw", kind: "file" },
    ]);
    assert.deepEqual(await readBackingChain(`${dir}/base.raw`, "raw"), []);
    assert.equal(await readBackingChain(`${dir}/base.raw`, "vmdk"), undefined);
  });
});

Deno.test("readBackingChain refuses a backing image whose format is not named (code 55)", async () => {
  await withTempDir("evirt-chain-", async (dir) => {
    await Deno.writeFile(`${dir}/base.raw`, new Uint8Array(4096));
    await Deno.writeFile(`${dir}/top.qcow2`, qcow2Bytes("base.raw"));
    await assert.rejects(
      readBackingChain(`${dir}/top.qcow2`, "qcow2"),
      (error) =>
        assertVirtError(error, ErrorCode.OPERATION_INVALID, /format of backing image 'base.raw'/),
    );
  });
});

Deno.test("readBackingChain refuses a loop, a remote name and a missing image", async () => {
  await withTempDir("evirt-chain-", async (dir) => {
    await Deno.writeFile(`${dir}/a.qcow2`, qcow2Bytes("b.qcow2", "qcow2"));
    await Deno.writeFile(`${dir}/b.qcow2`, qcow2Bytes("a.qcow2", "qcow2"));
    await assert.rejects(
      readBackingChain(`${dir}/a.qcow2`, "qcow2"),
      (error) => assertVirtError(error, ErrorCode.CONFIG_UNSUPPORTED, /self-referential/),
    );
    await Deno.writeFile(`${dir}/n.qcow2`, qcow2Bytes("nbd://host/export", "raw"));
    await assert.rejects(
      readBackingChain(`${dir}/n.qcow2`, "qcow2"),
      (error) => assertVirtError(error, ErrorCode.CONFIG_UNSUPPORTED, /not a local path/),
    );
    await Deno.writeFile(`${dir}/m.qcow2`, qcow2Bytes("gone.raw", "raw"));
    await assert.rejects(
      readBackingChain(`${dir}/m.qcow2`, "qcow2"),
      (error) => assertVirtError(error, ErrorCode.SYSTEM_ERROR, /gone.raw/),
    );
  });
});

testIf(
  "readBackingChain reads the chain qemu-img makes",
  missing("qemu-img"),
  async () => {
    await withTempDir("evirt-chain-", async (dir) => {
      const run = async (...args: string[]) => {
        const output = await new Deno.Command("qemu-img", { args, stdout: "null", stderr: "piped" })
          .output();
        assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      };
      await run("create", "-f", "raw", `${dir}/base.raw`, "1M");
      await run("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", `${dir}/mid.qcow2`);
      await run(
        "create",
        "-f",
        "qcow2",
        "-b",
        `${dir}/mid.qcow2`,
        "-F",
        "qcow2",
        `${dir}/top.qcow2`,
      );
      assert.deepEqual(await readBackingChain(`${dir}/top.qcow2`, "qcow2"), [
        { path: `${dir}/mid.qcow2`, format: "qcow2", kind: "file" },
        { path: `${dir}/base.raw`, format: "raw", kind: "file" },
      ]);
    });
  },
);
