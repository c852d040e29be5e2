import assert from "node:assert/strict";
import { vcpuInfo } from "../../../src/projections/vcpu_info.ts";
import { guestDefinition, guestSamples } from "./_stats_fixtures.ts";

Deno.test("vcpuInfo maps sampled vCPUs with their affinity over the host's CPUs", () => {
  assert.deepEqual(vcpuInfo(guestDefinition(), guestSamples(), 3), [
    {
      number: 0,
      state: 1,
      stateName: "running",
      cpuTimeNs: 1_500_000_000,
      cpu: 1,
      affinity: [true, true, false],
    },
    {
      number: 1,
      state: 1,
      stateName: "running",
      cpuTimeNs: 1_000_000_000,
      cpu: 0,
      affinity: [false, true, false],
    },
  ]);
});

Deno.test("vcpuInfo of an inactive domain gives the configured vCPUs and pinning", () => {
  const definition = guestDefinition((each) => {
    each.vcpu = { current: 2, cpuset: "0-1" };
    each.cputune = { vcpupins: [{ vcpu: 1, cpuset: "3" }], iothreadpins: [] } as never;
  });
  const vcpus = vcpuInfo(definition, undefined, 4);
  assert.equal(vcpus.length, 2);
  assert.deepEqual(vcpus[0], {
    number: 0,
    state: null,
    stateName: null,
    cpuTimeNs: null,
    cpu: null,
    affinity: [true, true, false, false],
  });
  assert.deepEqual(vcpus[1].affinity, [false, false, false, true]);
});

Deno.test("vcpuInfo refuses a host without CPUs", () => {
  assert.throws(() => vcpuInfo(guestDefinition(), undefined, 0), TypeError);
});
