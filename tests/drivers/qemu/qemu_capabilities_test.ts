import assert from "node:assert/strict";
import {
  CapabilityCache,
  parseCpuHelp,
  parseQemuVersion,
  resolveEmulator,
} from "../../../drivers/qemu/qemu_capabilities.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";

Deno.test("parseQemuVersion reads the version line and nothing else", () => {
  assert.equal(parseQemuVersion("QEMU emulator version 8.0.0\nCopyright"), "8.0.0");
  assert.equal(parseQemuVersion("QEMU emulator version 7.2\n"), "7.2");
  assert.equal(parseQemuVersion("something else"), undefined);
});

Deno.test("resolveEmulator finds a name on PATH and refuses a missing binary with code 38", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/qemu-fake`, "#!/bin/sh\n");
    Deno.chmodSync(`${dir}/qemu-fake`, 0o755);
    assert.equal(resolveEmulator("qemu-fake", `/nonexistent:${dir}`), `${dir}/qemu-fake`);
    for (const name of ["qemu-absent", `${dir}/absent`]) {
      assert.throws(
        () => resolveEmulator(name, dir),
        (error: unknown) =>
          isVirtError(error, ErrorCode.SYSTEM_ERROR) && error.where === "/domain/devices/emulator",
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

testIf(
  "CapabilityCache probes the version and sandbox support once per binary",
  missing("qemu-system-x86_64"),
  async () => {
    const cache = new CapabilityCache();
    const first = cache.get("qemu-system-x86_64");
    assert.equal(cache.get("qemu-system-x86_64"), first, "one probe per binary");
    const capabilities = await first;
    assert.match(capabilities.version, /^[0-9]+\.[0-9]+/);
    assert.equal(typeof capabilities.sandbox, "boolean");
    assert.ok(capabilities.path.startsWith("/"));
  },
);

Deno.test("CapabilityCache refuses a binary that prints no QEMU version", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/qemu-liar`, "#!/bin/sh\necho hello\n");
    Deno.chmodSync(`${dir}/qemu-liar`, 0o755);
    const error = await new CapabilityCache().get(`${dir}/qemu-liar`).catch((caught) => caught);
    assert.ok(isVirtError(error, ErrorCode.INTERNAL_ERROR), String(error));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseCpuHelp reads the models and the CPUID flags of -cpu help", () => {
  const names = parseCpuHelp(
    "Available CPUs:\nx86 486                   (alias configured by machine type)\n" +
      "x86 Haswell-v1            Intel Core Processor (Haswell)\n\nRecognized CPUID flags:\n" +
      "  3dnow 3dnowext abm\n  sse4.1 sse4.2\n",
  );
  assert.deepEqual([...names!.models], ["486", "Haswell-v1"]);
  assert.deepEqual([...names!.flags], ["3dnow", "3dnowext", "abm", "sse4.1", "sse4.2"]);
  assert.equal(parseCpuHelp("nothing here"), undefined);
});
