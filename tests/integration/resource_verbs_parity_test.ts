/**
 * `evirt -c test:///default` beside `virsh -c test:///default` (libvirt 9.0's test driver, in
 * virsh's process) for `setmem`, `setmaxmem`, `setvcpus`, `vcpucount` and `blockresize`: the
 * same command strings give the same stdout, stderr and exit code, refusals included.
 * `dominfo`'s CPU time (the wall clock in libvirt's test driver) is left out of the comparison.
 */

import {
  assertSameAsTestDriver,
  CPU_TIME_LINE,
  evirtTestDriver,
  testDriverAbsent,
  withoutLines,
} from "../support/test_driver_oracle.ts";

const ignore = testDriverAbsent();

function assertSameAnswers(sequences: string[]): Promise<void> {
  return assertSameAsTestDriver(sequences, evirtTestDriver, {
    normal: withoutLines(CPU_TIME_LINE),
  });
}

Deno.test({
  name: "test:///default: setmem and setmaxmem answer as libvirt's test driver",
  ignore,
  async fn() {
    await assertSameAnswers([
      "dominfo test; setmem test 2000000; dominfo test",
      "setmem test 9000000",
      "setmem test 1000 --config; dominfo test; dumpxml test --inactive",
      "setmem test 500 --live --config",
      "setmem test 1G --current; dominfo test",
      "setmem test 1000b; dominfo test",
      "setmem test abc",
      "setmem test 1.5G",
      "setmem test 20000000000000000000",
      "setmem test 9007199254740991",
      "setmem test 1G --current --live",
      "setmem nosuch 100",
      "setmaxmem test 3000000",
      "setmaxmem test 0",
      "setmaxmem test 0 --config",
      "setmaxmem test 2G --config; dominfo test; dumpxml test --inactive",
      "setmem test 2G --config; setmaxmem test 1G --config; dumpxml test --inactive",
      "destroy test; setmem test 500; setmem test 600 --live; setmaxmem test 3000000; dominfo test",
      "destroy test; setmaxmem test 100; dominfo test; start test; dominfo test",
      "suspend test; setmem test 1000; dominfo test",
      "undefine test; setmem test 1000 --config",
      "undefine test; setmaxmem test 1000",
    ]);
  },
});

Deno.test({
  name: "test:///default: setvcpus and vcpucount answer as libvirt's test driver",
  ignore,
  async fn() {
    await assertSameAnswers([
      "vcpucount test; setvcpus test 1; vcpucount test; dominfo test",
      "setvcpus test 9",
      "setvcpus test 40",
      "setvcpus test 0",
      "setvcpus test abc",
      "setvcpus test -1",
      "setvcpus test 2 --maximum",
      "setvcpus test 3 --maximum --config; vcpucount test",
      "setvcpus test 1 --live --config; vcpucount test",
      "setvcpus test 1 --guest",
      "setvcpus test 1 --hotpluggable",
      "setvcpus test 2 --guest --config",
      "setvcpus test 2 --current --config",
      "vcpucount test --maximum --active",
      "vcpucount test --live",
      "vcpucount test --config --maximum",
      "vcpucount test --guest",
      "destroy test; setvcpus test 1; setvcpus test 1 --live; vcpucount test",
      "destroy test; setvcpus test 1 --maximum --config; vcpucount test; vcpucount test --live; " +
      "start test; vcpucount test",
      "undefine test; setvcpus test 1 --config; vcpucount test",
      "suspend test; setvcpus test 1; vcpucount test",
    ]);
  },
});

Deno.test({
  name: "test:///default: blockresize is refused as libvirt's test driver refuses it",
  ignore,
  async fn() {
    await assertSameAnswers([
      "blockresize test vda 10G",
      "blockresize test /guest/diskimage1 1000",
      "blockresize test vda abc",
    ]);
  },
});

Deno.test({
  name:
    "test:///default: blockcommit, blockpull, blockcopy and blockjob are refused as libvirt's test driver refuses them",
  ignore,
  async fn() {
    await assertSameAnswers([
      "blockcommit test vda",
      "blockcommit test vda --active --pivot",
      "blockpull test vda",
      "blockpull test vda --base /x",
      "blockcopy test vda /tmp/evirt-never.img",
      "blockcopy test vda /tmp/evirt-never.img --transient-job",
      "blockjob test vda",
      "blockjob test vda --abort",
      "blockjob test vda --bandwidth 5",
    ]);
  },
});
