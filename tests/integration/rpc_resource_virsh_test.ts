/**
 * virsh 9.0 over libvirt's protocol to the evirt service, on the service's private test
 * hypervisor (`test+unix:///default?socket=…`), beside virsh's own `test:///default`: `setmem`,
 * `setmaxmem`, `setvcpus`, `vcpucount` and `blockresize` travel as libvirt's procedures
 * (`virDomainSetMemoryFlags`, `virDomainSetMaxMemory`, `virDomainSetVcpusFlags`,
 * `virDomainGetVcpusFlags`, `virDomainBlockResize`, …) and answer the same output, errors and
 * exit codes. A read-only connection is refused as libvirt refuses it.
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { assertSameAsTestDriver, withoutLines } from "../support/test_driver_oracle.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const SEQUENCES = [
  "dominfo test; setmem test 2000000; dominfo test",
  "setmem test 9000000",
  "setmem test 1000 --config; dumpxml test --inactive",
  "setmem test 500 --live --config",
  "setmaxmem test 3000000",
  "setmaxmem test 2G --config; dumpxml test --inactive",
  "vcpucount test; setvcpus test 1; vcpucount test",
  "setvcpus test 9",
  "setvcpus test 3 --maximum --config; vcpucount test",
  "setvcpus test 1 --guest",
  "vcpucount test --guest",
  "blockresize test vda 10G",
  "destroy test; setmem test 500; setmaxmem test 100; dominfo test; dumpxml test; " +
  "setvcpus test 1 --config; vcpucount test",
];

testIf(
  "virsh over libvirt's protocol: resource verbs answer as libvirt's test driver",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
      await assertSameAsTestDriver(SEQUENCES, (sequence) => runVirsh(uri, [sequence]), {
        normal: withoutLines(/^(CPU time|OS Type|Security \w+):/),
      });

      const readOnly = await runVirsh(
        socketUri(`${dirs.runtimeDir}/libvirt-sock-ro`, "test", "default"),
        ["setmem test 1000"],
      );
      assert.equal(readOnly.code, 1);
      assert.match(
        readOnly.stderr,
        /operation forbidden: read only access prevents virDomainSetMemory/,
      );
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
