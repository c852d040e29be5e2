import assert from "node:assert/strict";
import { ConfigError } from "../../../src/config/config.ts";
import { libvirtSocketPaths } from "../../../src/rpc/socket_paths.ts";

Deno.test("libvirtSocketPaths puts libvirt-sock and libvirt-sock-ro in the runtime folder", () => {
  assert.deepEqual(libvirtSocketPaths({}, "/run/evirt"), {
    socketPath: "/run/evirt/libvirt-sock",
    readOnlySocketPath: "/run/evirt/libvirt-sock-ro",
  });
});

Deno.test("libvirtSocketPaths takes EVIRT_LIBVIRT_SOCKET and appends -ro for the read-only twin", () => {
  assert.deepEqual(
    libvirtSocketPaths({ EVIRT_LIBVIRT_SOCKET: "/run/libvirt/libvirt-sock" }, "/run/evirt"),
    { socketPath: "/run/libvirt/libvirt-sock", readOnlySocketPath: "/run/libvirt/libvirt-sock-ro" },
  );
});

Deno.test("libvirtSocketPaths refuses a relative or too long EVIRT_LIBVIRT_SOCKET, naming it", () => {
  assert.throws(
    () => libvirtSocketPaths({ EVIRT_LIBVIRT_SOCKET: "sock" }, "/run/evirt"),
    (error: unknown) =>
      error instanceof ConfigError && error.where === "EVIRT_LIBVIRT_SOCKET" &&
      /must be an absolute path, got 'sock'/.test(error.message),
  );
  assert.throws(
    () => libvirtSocketPaths({ EVIRT_LIBVIRT_SOCKET: `/${"x".repeat(110)}` }, "/run/evirt"),
    /longer than 107 bytes/,
  );
});
