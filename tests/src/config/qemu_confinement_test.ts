import assert from "node:assert/strict";
import { loadQemuConfinement } from "../../../src/config/qemu_confinement.ts";
import { ConfigError } from "../../../src/config/config.ts";

Deno.test("loadQemuConfinement defaults to the default user with dynamic ownership", () => {
  assert.deepEqual(loadQemuConfinement({}), { user: null, group: null, dynamicOwnership: true });
});

Deno.test("loadQemuConfinement takes names, +IDs and 0/1", () => {
  assert.deepEqual(
    loadQemuConfinement({
      EVIRT_QEMU_USER: "qemu",
      EVIRT_QEMU_GROUP: "+107",
      EVIRT_QEMU_DYNAMIC_OWNERSHIP: "0",
    }),
    { user: "qemu", group: "+107", dynamicOwnership: false },
  );
});

Deno.test("loadQemuConfinement refuses bad values, naming the variable", () => {
  assert.throws(
    () => loadQemuConfinement({ EVIRT_QEMU_USER: "a b" }),
    (error) => error instanceof ConfigError && error.message.startsWith("EVIRT_QEMU_USER "),
  );
  assert.throws(
    () => loadQemuConfinement({ EVIRT_QEMU_DYNAMIC_OWNERSHIP: "yes" }),
    (error) =>
      error instanceof ConfigError && error.message.startsWith("EVIRT_QEMU_DYNAMIC_OWNERSHIP "),
  );
});
