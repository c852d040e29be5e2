import assert from "node:assert/strict";
import { acceleratorFor, isKvmUsable, readKvmEvidence } from "../../../drivers/qemu/accelerator.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

const CPUINFO = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae mce\n";

Deno.test("isKvmUsable needs a vmx or svm flag and /dev/kvm", () => {
  assert.equal(isKvmUsable({ cpuinfo: CPUINFO, devKvmExists: true }), false);
  assert.equal(
    isKvmUsable({ cpuinfo: CPUINFO.replace("pae", "pae vmx"), devKvmExists: true }),
    true,
  );
  assert.equal(isKvmUsable({ cpuinfo: CPUINFO.replace("pae", "svm"), devKvmExists: true }), true);
  assert.equal(isKvmUsable({ cpuinfo: CPUINFO.replace("pae", "svm"), devKvmExists: false }), false);
  assert.equal(isKvmUsable({ cpuinfo: "model name\t: vmx-like cpu\n", devKvmExists: true }), false);
});

Deno.test("acceleratorFor maps qemu to tcg and kvm to kvm only where usable", () => {
  assert.equal(acceleratorFor("qemu", false), "tcg");
  assert.equal(acceleratorFor("kvm", true), "kvm");
  for (const [type, usable] of [["kvm", false], ["xen", true]] as const) {
    assert.throws(
      () => acceleratorFor(type, usable),
      (error: unknown) =>
        error instanceof VirtError && error.code === ErrorCode.CONFIG_UNSUPPORTED &&
        error.where === "/domain/@type",
    );
  }
});

Deno.test("readKvmEvidence reads this host without failing", () => {
  const evidence = readKvmEvidence();
  assert.equal(typeof evidence.cpuinfo, "string");
  assert.equal(typeof evidence.devKvmExists, "boolean");
});
