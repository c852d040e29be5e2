import assert from "node:assert/strict";
import { emptyDevices } from "../../../src/model/domain.ts";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import {
  AFFECT_CONFIG,
  AFFECT_LIVE,
  blockResizeBytes,
  checkCurrentMemory,
  checkMemoryArgument,
  checkVcpuArgument,
  diskIndexByName,
  MAXIMUM,
  resolveScope,
  VCPU_GUEST,
  vcpuCount,
  withCurrentVcpus,
  withMaxMemory,
  withMaxVcpus,
} from "../../../src/model/domain_resources.ts";
import { isVirtError, VirtError } from "../../../src/model/errors.ts";

function definition(overrides: Partial<DomainDefinition> = {}): DomainDefinition {
  return {
    type: "qemu",
    name: "vm",
    memoryKiB: 262144,
    currentMemoryKiB: 131072,
    vcpus: 4,
    vcpu: { current: 2 },
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
    ...overrides,
  };
}

function refusal(code: number, message: string) {
  return (error: unknown) =>
    isVirtError(error, code) && (error as VirtError).fullMessage === message;
}

Deno.test("resolveScope: no flag is the live definition when running, else the config", () => {
  const persistent = true;
  assert.deepEqual(resolveScope(0, { active: true, persistent }), { live: true, config: false });
  assert.deepEqual(resolveScope(0, { active: false, persistent }), { live: false, config: true });
  assert.deepEqual(resolveScope(AFFECT_LIVE | AFFECT_CONFIG, { active: true, persistent }), {
    live: true,
    config: true,
  });
});

Deno.test("resolveScope: --live when inactive and --config when transient are code 55", () => {
  assert.throws(
    () => resolveScope(AFFECT_LIVE, { active: false, persistent: true }),
    refusal(55, "Requested operation is not valid: domain is not running"),
  );
  assert.throws(
    () => resolveScope(AFFECT_CONFIG, { active: true, persistent: false }),
    refusal(
      55,
      "Requested operation is not valid: transient domains do not have any persistent config",
    ),
  );
});

Deno.test("checkMemoryArgument: zero is code 8 as libvirt words it; LLONG_MAX/1024 overflows", () => {
  assert.throws(
    () => checkMemoryArgument(0, "virDomainSetMemory"),
    refusal(8, "memory in virDomainSetMemory must not be zero"),
  );
  assert.throws(
    () => checkMemoryArgument(Number.MAX_SAFE_INTEGER, "virDomainSetMemoryFlags"),
    refusal(82, `numerical overflow: input too large: ${Number.MAX_SAFE_INTEGER}`),
  );
  checkMemoryArgument(Number.MAX_SAFE_INTEGER - 1, "virDomainSetMemoryFlags");
});

Deno.test("checkVcpuArgument: --maximum needs --config, --guest excludes it", () => {
  assert.throws(
    () => checkVcpuArgument(2, MAXIMUM, "virDomainSetVcpusFlags"),
    refusal(8, "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'"),
  );
  assert.throws(
    () => checkVcpuArgument(2, VCPU_GUEST | AFFECT_CONFIG, "virDomainSetVcpusFlags"),
    refusal(
      8,
      "Flags 'VIR_DOMAIN_VCPU_GUEST' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
    ),
  );
  assert.throws(
    () => checkVcpuArgument(0, 0, "virDomainSetVcpus"),
    refusal(8, "nvcpus in virDomainSetVcpus must not be zero"),
  );
  assert.throws(
    () => checkVcpuArgument(65536, 0, "virDomainSetVcpus"),
    refusal(82, "numerical overflow: input too large: 65536"),
  );
});

Deno.test("checkCurrentMemory: the smaller maximum of the changed definitions bounds it", () => {
  const live = definition({ memoryKiB: 200_000 });
  const config = definition({ memoryKiB: 300_000 });
  checkCurrentMemory(250_000, { config });
  assert.throws(
    () => checkCurrentMemory(250_000, { live, config }),
    refusal(8, "invalid argument: cannot set memory higher than max memory"),
  );
});

Deno.test("withMaxMemory lowers the current memory; NUMA cells and <maxMemory> refuse", () => {
  const lowered = withMaxMemory(definition(), 100_000);
  assert.equal(lowered.memoryKiB, 100_000);
  assert.equal(lowered.currentMemoryKiB, 100_000);
  assert.equal(withMaxMemory(definition(), 300_000).currentMemoryKiB, 131072);
  assert.throws(
    () => withMaxMemory(definition({ maxMemory: { kib: 200_000, slots: 2 } }), 300_000),
    refusal(
      8,
      "invalid argument: cannot set initial memory size greater than the maximum memory size",
    ),
  );
  const numa = definition({
    cpu: { numa: { cells: [{ id: 0, cpus: "0-3", memoryKiB: 262144 }] } },
  } as Partial<DomainDefinition>);
  assert.throws(() => withMaxMemory(numa, 100_000), (error: unknown) => isVirtError(error, 55));
});

Deno.test("withCurrentVcpus and withMaxVcpus keep <vcpu current> only below the maximum", () => {
  assert.equal(withCurrentVcpus(definition(), 4).vcpu, undefined);
  assert.equal(withCurrentVcpus(definition(), 3).vcpu?.current, 3);
  const shrunk = withMaxVcpus(definition(), 1);
  assert.equal(shrunk.vcpus, 1);
  assert.equal(shrunk.vcpu, undefined);
  assert.equal(withMaxVcpus(definition(), 8).vcpu?.current, 2);
  const topology = definition({
    cpu: { topology: { sockets: 2, cores: 2, threads: 1 } },
  } as Partial<DomainDefinition>);
  assert.throws(
    () => withMaxVcpus(topology, 3),
    refusal(8, "invalid argument: CPU topology doesn't match the desired vcpu count"),
  );
});

Deno.test("vcpuCount reads the live or config definition's maximum or current count", () => {
  const live = definition({ vcpu: { current: 3 } });
  const config = definition();
  assert.equal(vcpuCount(0, { live, config }), 3);
  assert.equal(vcpuCount(AFFECT_CONFIG, { live, config }), 2);
  assert.equal(vcpuCount(AFFECT_CONFIG | MAXIMUM, { live, config }), 4);
  assert.equal(vcpuCount(0, { live: null, config }), 2);
  assert.throws(
    () => vcpuCount(AFFECT_LIVE, { live: null, config }),
    (error: unknown) => isVirtError(error, 55),
  );
});

Deno.test("blockResizeBytes: KiB unless bytes, qcow2 rounded up to 512, overflow as libvirt", () => {
  assert.equal(blockResizeBytes(10n, false, "raw"), 10240n);
  assert.equal(blockResizeBytes(1000n, true, "raw"), 1000n);
  assert.equal(blockResizeBytes(1000n, true, "qcow2"), 1024n);
  assert.throws(
    () => blockResizeBytes(1n << 60n, false, "raw"),
    refusal(82, "numerical overflow: size must be less than 18014398509481983"),
  );
});

Deno.test("diskIndexByName finds a disk by target or source path, else code 8", () => {
  const withDisk = definition();
  withDisk.devices.disks.push({
    type: "file",
    device: "disk",
    source: { file: "/images/a.raw", hosts: [] },
    target: { dev: "vdb", bus: "virtio" },
  });
  assert.equal(diskIndexByName(withDisk, "vdb"), 0);
  assert.equal(diskIndexByName(withDisk, "/images/a.raw"), 0);
  assert.throws(
    () => diskIndexByName(withDisk, "vdz"),
    refusal(8, "invalid argument: disk 'vdz' was not found in the domain config"),
  );
});
