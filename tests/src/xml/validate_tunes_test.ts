import assert from "node:assert/strict";
import type { CpuTune } from "../../../src/model/domain.ts";
import { cpuSetBudget } from "../../../src/model/cpu_set.ts";
import { validateTunes } from "../../../src/xml/validate_tunes.ts";

const check = (cputune: CpuTune) => validateTunes(cputune, cpuSetBudget());

function tune(overrides: Partial<CpuTune>): CpuTune {
  return {
    vcpupins: [],
    iothreadpins: [],
    vcpuscheds: [],
    iothreadscheds: [],
    cachetunes: [],
    memorytunes: [],
    ...overrides,
  };
}

const cache = (type: string, id = 0) => ({ id, level: 3, type, size: 3, unit: "MiB" });

Deno.test("validateTunes accepts separate tunes and a memory tune sharing a cache tune's vCPUs", () => {
  check(tune({
    cachetunes: [{
      vcpus: "0-1",
      caches: [cache("code"), cache("data")],
      monitors: [{ level: 3, vcpus: "0" }],
    }],
    memorytunes: [{ vcpus: "0-1", nodes: [{ id: 0, bandwidth: 50 }], monitors: [] }],
  }));
});

Deno.test("validateTunes refuses colliding cache allocations", () => {
  assert.throws(
    () =>
      check(
        tune({
          cachetunes: [{ vcpus: "0", caches: [cache("code"), cache("code")], monitors: [] }],
        }),
      ),
    /already defined/,
  );
  assert.throws(
    () =>
      check(
        tune({
          cachetunes: [{ vcpus: "0", caches: [cache("both"), cache("code")], monitors: [] }],
        }),
      ),
    /cannot be mixed/,
  );
});

Deno.test("validateTunes refuses overlapping tunes and monitors outside their tune", () => {
  const one = { vcpus: "0-1", caches: [cache("both")], monitors: [] };
  assert.throws(
    () => check(tune({ cachetunes: [one, { ...one, vcpus: "1-2" }] })),
    /Overlapping vcpus in cachetunes/,
  );
  assert.throws(
    () => check(tune({ cachetunes: [{ ...one, monitors: [{ vcpus: "3" }] }] })),
    /Monitor vcpus/,
  );
  assert.throws(
    () =>
      check(
        tune({ cachetunes: [one], memorytunes: [{ vcpus: "0", nodes: [], monitors: [] }] }),
      ),
    (error: Error & { where?: string }) => error.where === "/domain/cputune/memorytune[1]",
  );
});

Deno.test("validateTunes refuses a node bandwidth defined twice and a vCPU scheduled twice", () => {
  assert.throws(
    () =>
      check(
        tune({
          memorytunes: [{
            vcpus: "0",
            nodes: [{ id: 0, bandwidth: 1 }, { id: 0, bandwidth: 2 }],
            monitors: [],
          }],
        }),
      ),
    /already defined for node 0/,
  );
  assert.throws(
    () =>
      check(
        tune({
          vcpuscheds: [{ vcpus: "0-1", scheduler: "fifo" }, { vcpus: "1", scheduler: "idle" }],
        }),
      ),
    /must not overlap/,
  );
});
