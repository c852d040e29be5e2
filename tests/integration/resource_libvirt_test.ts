/**
 * `setmem`, `setmaxmem` and `setvcpus` of an inactive domain on evirt's QEMU driver beside
 * libvirtd 9.0's QEMU driver (`qemu:///system`, through python3-libvirt): the same calls in the
 * same order give the same error code and message, or the same memory and vCPU figures of the
 * persistent definition. The domain defined in libvirtd is named with the oracle prefix and
 * undefined at the end.
 */

import assert from "node:assert/strict";
import {
  AFFECT_CONFIG,
  AFFECT_LIVE,
  MAXIMUM,
  VCPU_GUEST,
  VCPU_HOTPLUGGABLE,
} from "../../src/model/domain_resources.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { parseDomainXml } from "../../src/xml/parse_domain.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { vcpuCountOf } from "../../actors/resource_commands.ts";
import { runChild } from "../support/child_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { libvirtdSkipReason, ORACLE_PREFIX } from "../support/libvirtd.ts";
import { pythonLibvirtSkipReason, SYSTEM_PYTHON } from "../support/python_libvirt.ts";
import { openQemuRig } from "./_qemu_guest.ts";

const NAME = `${ORACLE_PREFIX}setmem14-${Deno.pid}`;

const XML = `<domain type='qemu'><name>${NAME}</name>
  <memory unit='KiB'>262144</memory><currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><memballoon model='none'/></devices></domain>`;

/** One call: the API (`mem`: virDomainSetMemoryFlags, `vcpus`: virDomainSetVcpusFlags), value, flags. */
type Call = ["mem" | "vcpus", number, number];

const CALLS: Call[] = [
  ["mem", 500_000, AFFECT_CONFIG],
  ["mem", 500_000, 0],
  ["mem", 100_000, AFFECT_LIVE],
  ["mem", 100_000, AFFECT_LIVE | AFFECT_CONFIG],
  ["mem", 100_000, 0],
  ["mem", 0, AFFECT_CONFIG],
  ["mem", 90_000, MAXIMUM],
  ["mem", 300_000, MAXIMUM | AFFECT_CONFIG],
  ["mem", 200_000, AFFECT_CONFIG],
  ["mem", 100, 8],
  ["vcpus", 3, AFFECT_CONFIG],
  ["vcpus", 3, 0],
  ["vcpus", 3, AFFECT_LIVE],
  ["vcpus", 0, AFFECT_CONFIG],
  ["vcpus", 2, MAXIMUM],
  ["vcpus", 4, MAXIMUM | AFFECT_CONFIG],
  ["vcpus", 3, AFFECT_CONFIG],
  ["vcpus", 1, VCPU_GUEST],
  ["vcpus", 1, VCPU_GUEST | AFFECT_CONFIG],
  ["vcpus", 5, AFFECT_CONFIG | VCPU_HOTPLUGGABLE],
  ["vcpus", 2, MAXIMUM | AFFECT_CONFIG],
  ["vcpus", 1, 32],
];

/** What a call left: the error, or the persistent figures after it. */
type Outcome = { error: [number, string] } | { memory: number[]; vcpus: number[] };

const ORACLE = `
import json, os, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
xml, calls = json.loads(os.environ["EVIRT_ORACLE_INPUT"])
conn = libvirt.open("qemu:///system")
dom = conn.defineXML(xml)
out = []
try:
    for api, value, flags in calls:
        try:
            (dom.setMemoryFlags if api == "mem" else dom.setVcpusFlags)(value, flags)
            info = dom.info()
            out.append({"memory": [info[1], info[2]],
                        "vcpus": [dom.vcpusFlags(2 | 4), dom.vcpusFlags(2)]})
        except libvirt.libvirtError as e:
            out.append({"error": [e.get_error_code(), e.get_error_message()]})
finally:
    dom.undefine()
print(json.dumps(out))
`;

testIf(
  "QEMU driver: setmem, setmaxmem and setvcpus of an inactive domain answer as libvirtd 9.0",
  libvirtdSkipReason ?? pythonLibvirtSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const oracle = await runChild(SYSTEM_PYTHON, ["-c", ORACLE], {
      EVIRT_ORACLE_INPUT: JSON.stringify([XML, CALLS]),
    }, 60_000);
    assert.equal(oracle.code, 0, oracle.stderr);
    const expected = JSON.parse(oracle.stdout) as Outcome[];

    const rig = await openQemuRig();
    try {
      const { uuid } = await rig.host.define(applyDomainDefaults(parseDomainXml(XML)));
      const actual: Outcome[] = [];
      for (const [api, value, flags] of CALLS) {
        try {
          if (api === "mem") {
            await rig.host.command("setmem", uuid, {
              memoryKiB: value,
              flags,
              api: "virDomainSetMemoryFlags",
            });
          } else {
            await rig.host.command("setvcpus", uuid, {
              count: value,
              flags,
              api: "virDomainSetVcpusFlags",
            });
          }
          const definition = rig.host.context(uuid).definition!;
          const inspection = rig.host.inspect(uuid);
          actual.push({
            memory: [definition.memoryKiB, definition.currentMemoryKiB ?? definition.memoryKiB],
            vcpus: [
              vcpuCountOf(inspection, AFFECT_CONFIG | MAXIMUM),
              vcpuCountOf(inspection, AFFECT_CONFIG),
            ],
          });
        } catch (error) {
          if (!isVirtError(error)) throw error;
          actual.push({ error: [error.code, error.fullMessage] });
        }
      }
      assert.deepEqual(actual, expected);
    } finally {
      await rig.close();
    }
  },
);
