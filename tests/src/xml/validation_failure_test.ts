import assert from "node:assert/strict";
import { cpuSetBudget } from "../../../src/model/cpu_set.ts";
import { VirtError } from "../../../src/model/errors.ts";
import { invalid, parseCpuSetAt } from "../../../src/xml/validation_failure.ts";

Deno.test("invalid makes a VirtError with the code, message and element path", () => {
  const error = invalid(67, "no", "/domain/x");
  assert.ok(error instanceof VirtError);
  assert.deepStrictEqual([error.code, error.message, error.where], [67, "no", "/domain/x"]);
});

Deno.test("parseCpuSetAt reports a malformed set as an XML error at the element", () => {
  assert.deepStrictEqual(parseCpuSetAt("0-2,^1", "/a", cpuSetBudget()), [0, 2]);
  assert.throws(
    () => parseCpuSetAt("zero", "/domain/cputune", cpuSetBudget()),
    (error: VirtError) => error.code === 27 && error.where === "/domain/cputune",
  );
});
