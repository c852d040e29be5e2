import assert from "node:assert/strict";
import {
  DAC_XATTR_NAME,
  formatOwner,
  holdersOf,
  labelPath,
  parseNumericOwner,
  restorePath,
} from "../../../drivers/qemu/dac_ownership.ts";
import { getXattr, setXattr } from "../../../drivers/qemu/dac_xattr.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { testIf } from "../../support/environment.ts";

const rootSkip = Deno.uid() === 0 ? undefined : "needs root (chown, trusted.* attributes)";
const QEMU = { uid: 64055, gid: 64055 };

function withFile(fn: (path: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-dac-own-" });
  try {
    const path = `${dir}/image`;
    Deno.writeFileSync(path, new Uint8Array(8));
    Deno.chownSync(path, 1234, 2345);
    fn(path);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function owner(path: string): [number, number] {
  const info = Deno.statSync(path);
  return [info.uid!, info.gid!];
}

Deno.test("parseNumericOwner and formatOwner read and write libvirt's +UID:+GID", () => {
  assert.deepEqual(parseNumericOwner("+107:+994"), { uid: 107, gid: 994 });
  assert.deepEqual(parseNumericOwner("0:0"), { uid: 0, gid: 0 });
  assert.equal(parseNumericOwner("qemu:kvm"), undefined);
  assert.equal(parseNumericOwner("+1"), undefined);
  assert.equal(formatOwner({ uid: 64055, gid: 64055 }), "+64055:+64055");
});

testIf("labelPath remembers the owner first and restorePath brings it back", rootSkip, () => {
  withFile((path) => {
    labelPath(path, QEMU, "dom-a");
    assert.deepEqual(owner(path), [64055, 64055]);
    assert.deepEqual(holdersOf(path), ["dom-a"]);
    assert.match(getXattr(path, DAC_XATTR_NAME)!, /"owner":"\+1234:\+2345"/);
    assert.equal(restorePath(path, "dom-a"), "restored");
    assert.deepEqual(owner(path), [1234, 2345]);
    assert.equal(getXattr(path, DAC_XATTR_NAME), undefined);
    assert.equal(restorePath(path, "dom-a"), "not-held", "giving back twice changes nothing");
    assert.deepEqual(owner(path), [1234, 2345]);
  });
});

testIf("restorePath leaves a file shared by two domains to the last one", rootSkip, () => {
  withFile((path) => {
    labelPath(path, QEMU, "dom-a");
    labelPath(path, QEMU, "dom-b");
    labelPath(path, QEMU, "dom-a");
    assert.deepEqual(holdersOf(path), ["dom-a", "dom-b"], "each domain once");
    assert.equal(restorePath(path, "dom-a"), "still-held");
    assert.deepEqual(owner(path), [64055, 64055], "dom-b still uses it");
    assert.equal(restorePath(path, "dom-b"), "restored");
    assert.deepEqual(owner(path), [1234, 2345]);
  });
});

testIf("labelPath refuses another owner for a file in use, as libvirt", rootSkip, () => {
  withFile((path) => {
    labelPath(path, QEMU, "dom-a");
    assert.throws(
      () => labelPath(path, { uid: 107, gid: 107 }, "dom-b"),
      (error) =>
        isVirtError(error, ErrorCode.OPERATION_INVALID) &&
        error.message === `Setting different DAC user or group on ${path} which is already in use`,
    );
    assert.deepEqual(holdersOf(path), ["dom-a"], "the refused domain is not recorded");
  });
});

testIf("labelPath takes a record of another boot as stale", rootSkip, () => {
  withFile((path) => {
    setXattr(
      path,
      DAC_XATTR_NAME,
      JSON.stringify({ owner: "+0:+0", boot: "another-boot", holders: ["gone"] }),
    );
    labelPath(path, QEMU, "dom-a");
    assert.deepEqual(holdersOf(path), ["dom-a"]);
    restorePath(path, "dom-a");
    assert.deepEqual(owner(path), [1234, 2345], "the owner found, not the stale record's");
  });
});

testIf("restorePath of a missing file gives nothing back", rootSkip, () => {
  assert.equal(restorePath("/nonexistent/evirt/image", "dom-a"), "not-held");
});
