import assert from "node:assert/strict";
import {
  CPU_SET_ID_MAX,
  CPU_SET_IDS_PER_DEFINITION_MAX,
  cpuSetBudget,
  formatCpuSet,
  parseCpuSet,
} from "../../../src/model/cpu_set.ts";

Deno.test("parseCpuSet reads ranges and exclusions into sorted ids", () => {
  assert.deepStrictEqual(parseCpuSet("8,0-3,^2"), [0, 1, 3, 8]);
  assert.deepStrictEqual(parseCpuSet("1-3,^1"), [2, 3]);
});

Deno.test("parseCpuSet refuses malformed sets and ids beyond the bound", () => {
  for (const text of ["", "a", "3-1", "1-", "^1-2", `0-${CPU_SET_ID_MAX + 1}`]) {
    assert.throws(
      () => parseCpuSet(text),
      (error: Error & { code?: number }) => error.code === 8,
      text,
    );
  }
});

Deno.test("formatCpuSet writes ascending ranges", () => {
  assert.equal(formatCpuSet([5, 0, 1, 2, 7, 8]), "0-2,5,7-8");
  assert.equal(formatCpuSet([]), "");
});

Deno.test("parseCpuSet charges a definition's budget and refuses to overdraw it", () => {
  const budget = cpuSetBudget();
  parseCpuSet(`0-${CPU_SET_ID_MAX}`, budget);
  assert.equal(budget.idsLeft, CPU_SET_IDS_PER_DEFINITION_MAX - CPU_SET_ID_MAX - 1);
  budget.idsLeft = 3;
  assert.throws(() => parseCpuSet("0-3", budget), /name more than/);
});
