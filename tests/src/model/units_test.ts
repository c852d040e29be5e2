import assert from "node:assert/strict";
import { VirtError } from "../../../src/model/errors.ts";
import { kibToBytes, toKiB, unitBytes } from "../../../src/model/units.ts";

Deno.test("unitBytes knows libvirt's units, case-insensitively", () => {
  const cases: [string, bigint][] = [
    ["b", 1n],
    ["Bytes", 1n],
    ["byte", 1n],
    ["k", 1024n],
    ["KiB", 1024n],
    ["KB", 1000n],
    ["kb", 1000n],
    ["M", 1048576n],
    ["MB", 1000000n],
    ["GiB", 1073741824n],
    ["T", 1099511627776n],
    ["PB", 10n ** 15n],
    ["EiB", 1024n ** 6n],
  ];
  for (const [unit, bytes] of cases) assert.equal(unitBytes(unit), bytes, unit);
  for (const unit of ["", "x", "KiBB", "iB", "kilobyte"]) {
    assert.equal(unitBytes(unit), undefined, unit);
  }
});

Deno.test("toKiB rounds up to whole KiB and defaults to KiB", () => {
  assert.equal(toKiB(1n, "b"), 1);
  assert.equal(toKiB(1024n, "bytes"), 1);
  assert.equal(toKiB(1025n, "bytes"), 2);
  assert.equal(toKiB(7n, undefined), 7);
  assert.equal(toKiB(1n, undefined, "MiB"), 1024);
});

Deno.test("toKiB refuses unknown units and sizes beyond 2^53 KiB with code 8", () => {
  for (const [value, unit] of [[1n, "parsec"], [2n ** 64n, "EiB"], [-1n, "KiB"]] as const) {
    assert.throws(
      () => toKiB(value, unit),
      (error: unknown) => error instanceof VirtError && error.code === 8,
    );
  }
});

Deno.test("kibToBytes multiplies by 1024 exactly", () => {
  assert.equal(kibToBytes(2 ** 52), 2n ** 62n);
  assert.throws(() => kibToBytes(-1), RangeError);
});
