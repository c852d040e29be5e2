/**
 * `virsh perf` reading a domain's perf events (virDomainGetPerfEvents) through evirt's libvirt
 * socket, beside libvirt's own test driver (`test:///default`, in virsh's process): the same
 * lines (every event, enabled or disabled), flags checked and refused alike. Setting events
 * (`--enable`, `--disable`: virDomainSetPerfEvents) is not implemented yet: not compared.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runChild } from "../support/child_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

testIf(
  "virsh perf on evirt's test hypervisor answers as libvirt's test driver",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
      for (
        const sequence of [
          "perf test",
          "perf test --live",
          "perf test --config",
          "perf test --live --config",
          "perf nosuch",
        ]
      ) {
        const expected = await runChild(
          "virsh",
          ["-c", "test:///default", sequence],
          { LC_ALL: "C", LANG: "C" },
          30_000,
        );
        const actual = await runVirsh(uri, [sequence]);
        assert.equal(actual.stderr, expected.stderr, sequence);
        assert.equal(actual.stdout, expected.stdout, sequence);
        assert.equal(actual.code, expected.code, sequence);
      }
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
