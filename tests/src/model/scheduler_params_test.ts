import assert from "node:assert/strict";
import { isVirtError } from "../../../src/model/errors.ts";
import {
  checkSchedulerSettings,
  type SchedulerSetting,
  schedulerSettingsOf,
  withSchedulerSettings,
} from "../../../src/model/scheduler_params.ts";
import type { DomainDefinition } from "../../../src/model/domain.ts";

function refusal(settings: SchedulerSetting[], code: number, message: string): void {
  assert.throws(
    () => checkSchedulerSettings(settings),
    (error) => isVirtError(error) && error.code === code && error.message === message,
  );
}

Deno.test("schedinfo --set: libvirt's names, types and CFS ranges", () => {
  checkSchedulerSettings([
    { name: "cpu_shares", value: 512, type: "ullong" },
    { name: "vcpu_period", value: 1000 },
    { name: "vcpu_quota", value: -1, type: "llong" },
  ]);
  checkSchedulerSettings([{ name: "vcpu_period", value: 0 }, { name: "vcpu_quota", value: 0 }]);
  refusal([{ name: "weight", value: 1 }], 74, "parameter 'weight' not supported");
  refusal(
    [{ name: "cpu_shares", value: 1 }, { name: "cpu_shares", value: 2 }],
    8,
    "parameter 'cpu_shares' occurs multiple times",
  );
  refusal(
    [{ name: "vcpu_quota", value: 1, type: "ullong" }],
    8,
    "invalid type 'ullong' for parameter 'vcpu_quota', expected 'llong'",
  );
  refusal(
    [{ name: "vcpu_period", value: 999 }],
    8,
    "value of 'vcpu_period' is out of range [1000, 1000000]",
  );
  refusal(
    [{ name: "vcpu_period", value: 1_000_001 }],
    8,
    "value of 'vcpu_period' is out of range [1000, 1000000]",
  );
  refusal(
    [{ name: "vcpu_quota", value: 999 }],
    8,
    "value of 'vcpu_quota' is out of range [1000, 18446744073709551]",
  );
  refusal(
    [{ name: "emulator_period", value: 10 }],
    8,
    "value of 'emulator_period' is out of range [1000, 1000000]",
  );
  checkSchedulerSettings([{ name: "global_quota", value: 5000 }]);
});

Deno.test("schedinfo --set: the definition's <cputune>, a zero live period or quota kept", () => {
  const definition = {
    cputune: {
      shares: 1500,
      period: 100000,
      quota: 50000,
      vcpupins: [],
      iothreadpins: [],
      vcpuscheds: [],
      iothreadscheds: [],
      cachetunes: [],
      memorytunes: [],
    },
  } as unknown as DomainDefinition;
  const settings = [
    { name: "cpu_shares", value: 700 },
    { name: "vcpu_quota", value: 0 },
    { name: "emulator_period", value: 5000 },
  ];
  const live = withSchedulerSettings(definition, settings, true).cputune;
  assert.deepEqual(
    [live?.shares, live?.period, live?.quota, live?.emulatorPeriod],
    [700, 100000, 50000, 5000],
  );
  const config = withSchedulerSettings(definition, settings, false).cputune;
  assert.deepEqual([config?.shares, config?.period, config?.quota], [700, 100000, 0]);
  assert.equal(definition.cputune?.shares, 1500, "the given definition is left as it was");
});

Deno.test("schedinfo --set's text: name=value pairs, integers only", () => {
  assert.deepEqual(schedulerSettingsOf("cpu_shares=512,vcpu_quota=-1"), [
    { name: "cpu_shares", value: 512 },
    { name: "vcpu_quota", value: -1 },
  ]);
  for (const bad of ["", "cpu_shares", "=5", "cpu_shares=abc", "cpu_shares=1.5"]) {
    assert.throws(
      () => schedulerSettingsOf(bad),
      (error) => isVirtError(error) && error.code === 8,
    );
  }
});
