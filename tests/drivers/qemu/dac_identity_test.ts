import assert from "node:assert/strict";
import {
  lookupUser,
  resolveDacSettings,
  resolveOwner,
} from "../../../drivers/qemu/dac_identity.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";

const DEFAULTS = { user: null, group: null, dynamicOwnership: true };
const noLog = () => {};

testIf(
  "resolveDacSettings runs QEMU as an unprivileged service's own user",
  missing("getent"),
  async () => {
    assert.deepEqual(await resolveDacSettings(DEFAULTS, 1000, noLog), {
      user: undefined,
      dynamicOwnership: false,
    });
  },
);

testIf(
  "resolveDacSettings takes libvirt-qemu and its own group by default, as Debian's libvirt",
  lookupUser("libvirt-qemu") === undefined ? "no libvirt-qemu user here" : undefined,
  async () => {
    const account = lookupUser("libvirt-qemu")!;
    const settings = await resolveDacSettings(DEFAULTS, 0, noLog);
    assert.equal(settings.user?.uid, account.uid);
    assert.notEqual(settings.user?.uid, 0);
    assert.equal(settings.dynamicOwnership, true);
  },
);

testIf("resolveDacSettings takes +IDs and refuses unknown names", missing("getent"), async () => {
  const settings = await resolveDacSettings(
    { user: "+4242", group: "+4343", dynamicOwnership: false },
    0,
    noLog,
  );
  assert.deepEqual(settings, { user: { uid: 4242, gid: 4343 }, dynamicOwnership: false });
  await assert.rejects(
    () => resolveDacSettings({ ...DEFAULTS, user: "no-such-evirt-user" }, 0, noLog),
    (error) => isVirtError(error, ErrorCode.INVALID_ARG) && error.where === "EVIRT_QEMU_USER",
  );
});

testIf("resolveOwner reads +UID:+GID as is and looks names up", missing("getent"), () => {
  assert.deepEqual(resolveOwner("+107:+994"), { uid: 107, gid: 994 });
  assert.deepEqual(resolveOwner("root:root"), { uid: 0, gid: 0 });
  assert.throws(() => resolveOwner("root"), /Missing separator ':' in DAC label "root"/);
  assert.throws(
    () => resolveOwner("no-such-evirt-user:root"),
    (error) => isVirtError(error, ErrorCode.INVALID_ARG),
  );
});
