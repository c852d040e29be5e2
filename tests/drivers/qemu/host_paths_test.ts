import assert from "node:assert/strict";
import { checkHostPaths } from "../../../drivers/qemu/host_paths.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

function failure(fn: () => void): VirtError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof VirtError);
    return error;
  }
  throw new Error("expected a failure");
}

Deno.test("checkHostPaths accepts paths of the right kind", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/disk.img`, "x");
    checkHostPaths([
      { path: `${dir}/disk.img`, kind: "file", where: "/a" },
      { path: `${dir}/new.log`, kind: "creatable", where: "/b" },
      { path: "/dev/null", kind: "char", where: "/c" },
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("checkHostPaths refuses a missing path with code 38 naming the element", () => {
  const error = failure(() =>
    checkHostPaths([{ path: "/nonexistent/k", kind: "file", where: "/domain/os/kernel" }])
  );
  assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
  assert.equal(error.where, "/domain/os/kernel");
  assert.match(error.message, /No such file or directory/);
  const folder = failure(() =>
    checkHostPaths([{ path: "/nonexistent/x.log", kind: "creatable", where: "/s" }])
  );
  assert.equal(folder.code, ErrorCode.SYSTEM_ERROR);
});

Deno.test("checkHostPaths refuses a path of the wrong kind or a relative path with code 8", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.equal(
      failure(() => checkHostPaths([{ path: dir, kind: "file", where: "/a" }])).code,
      ErrorCode.INVALID_ARG,
    );
    Deno.writeTextFileSync(`${dir}/f`, "x");
    const block = failure(() => checkHostPaths([{ path: `${dir}/f`, kind: "block", where: "/b" }]));
    assert.match(block.message, /is not a block device/);
    assert.equal(
      failure(() => checkHostPaths([{ path: "disk.img", kind: "file", where: "/c" }])).code,
      ErrorCode.INVALID_ARG,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
