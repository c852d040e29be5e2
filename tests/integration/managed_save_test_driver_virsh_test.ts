/**
 * virsh 9.0 over libvirt's protocol to the evirt service's private test hypervisor, beside
 * virsh's own `test:///default`: libvirt's test driver keeps a managed save as a flag on the
 * domain, without an image (`managedsave`, `list --managed-save`, `dominfo`'s "Managed save",
 * `start` that boots afresh and clears it, `managedsave-remove`, `undefine` refused while it is
 * set), and the calls it does not implement (`managedsave-dumpxml`, `managedsave-define`) fail
 * as it does.
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { SAVE_RUNS, testDriverVirsh } from "../support/test_driver_oracle.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/**
 * Command strings run on both sides. `managedsave` runs `--verbose`: libvirt 9.0's virsh often
 * never returns from a quiet one on `test:///default` (its job-watching loop), never so far from
 * one that polls the job for its progress.
 */
const SEQUENCES = [
  "managedsave test --verbose; list --all --managed-save; domstate test --reason; dominfo test",
  "managedsave test --verbose; list --all --with-managed-save; list --all --without-managed-save",
  "list --all --with-managed-save; list --all --without-managed-save",
  "managedsave test --verbose; managedsave-remove test; list --all --managed-save; dominfo test",
  "managedsave-remove test",
  "managedsave test --verbose --bypass-cache; start test; domstate test --reason; list --managed-save",
  "managedsave test --verbose --running; managedsave-dumpxml test",
  "managedsave test --verbose --paused; managedsave-define test /dev/null",
  "managedsave test --verbose --running --paused",
  "destroy test; managedsave test --verbose",
  "managedsave test --verbose; managedsave test --verbose",
  "managedsave test --verbose; start test --force-boot; domstate test --reason",
  "managedsave test --verbose; start test --paused; domstate test --reason; dominfo test",
  "managedsave test --verbose; undefine test; list --all --managed-save",
  "suspend test; managedsave test --verbose; domstate test --reason; start test; domstate test --reason",
  "managedsave test --verbose; save test /dev/null",
];

/**
 * Output without `dominfo`'s CPU time (the wall clock) and the lines where the service's test
 * hypervisor speaks for the node rather than as libvirt's test driver (OS type, security model;
 * `test_driver.ts`, `asLibvirtTestDriver`), which the save side by side covers.
 */
function comparable(text: string): string {
  return text.split("\n").filter((line) =>
    !/^(CPU time|OS Type|Security model|Security DOI):/.test(line)
  )
    .join("\n");
}

testIf(
  "virsh over libvirt's protocol: managed save on the test hypervisor answers as libvirt's test driver",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
      const differences: string[] = [];
      for (const sequence of SEQUENCES) {
        const expected = await testDriverVirsh(sequence, {}, SAVE_RUNS);
        assert.ok(expected.code <= 127, `libvirt's virsh hung on: ${sequence}`);
        const actual = await runVirsh(uri, [sequence]);
        try {
          assert.equal(comparable(actual.stdout), comparable(expected.stdout));
          assert.equal(actual.stderr, expected.stderr);
          assert.equal(actual.code, expected.code);
        } catch (error) {
          differences.push(`${sequence}\n${(error as Error).message}`);
        }
      }
      assert.equal(differences.length, 0, differences.join("\n\n"));
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
