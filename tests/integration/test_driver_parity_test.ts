/**
 * `evirt -c test:///default` beside `virsh -c test:///default` (libvirt 9.0's test driver, run
 * in-process by virsh): the same command strings, the same stdout, stderr and exit code.
 *
 * Both keep the test hypervisor's state per process, so each sequence is one `;`-separated
 * command string run in one invocation of each, from libvirt's default state.
 */

import assert from "node:assert/strict";
import {
  evirtTestDriver,
  testDriverAbsent,
  testDriverVirsh,
} from "../support/test_driver_oracle.ts";

const ignore = testDriverAbsent();

/**
 * Figures libvirt's test driver derives from the wall clock (`dominfo`'s and `vcpuinfo`'s CPU
 * time, `domifstat`'s and `domblkstat`'s counters): two runs a moment apart differ in them by the
 * time between.
 */
const CLOCK_LINE = /^(CPU time: +|\S+ (rx|tx|rd|wr)_\w+ |\S+ errs | (number of|error count))/;
/** How far two readings of the clock may be apart, relatively (1e-7 of today: ~3 minutes). */
const CLOCK_RELATIVE_TOLERANCE = 1e-7;

/**
 * `actual` with each clock-derived number replaced by `expected`'s where the two are the same
 * reading of the clock, so one comparison shows every other difference exactly.
 */
function alignClockFigures(actual: string, expected: string): string {
  const expectedLines = expected.split("\n");
  return actual.split("\n").map((line, index) => {
    const other = expectedLines[index];
    if (other === undefined || !CLOCK_LINE.test(line)) return line;
    const numbers = line.match(/\d+(\.\d+)?/g) ?? [];
    const otherNumbers = other.match(/\d+(\.\d+)?/g) ?? [];
    const sameShape = line.replace(/\d+(\.\d+)?/g, "#") === other.replace(/\d+(\.\d+)?/g, "#");
    const close = numbers.length === otherNumbers.length && numbers.every((text, at) => {
      const [a, b] = [Number(text), Number(otherNumbers[at])];
      return Math.abs(a - b) <= Math.max(1, Math.abs(b) * CLOCK_RELATIVE_TOLERANCE);
    });
    return sameShape && close ? other : line;
  }).join("\n");
}

/** Runs every sequence in both and fails listing every one whose answers differ. */
async function assertSameAnswers(sequences: string[]): Promise<void> {
  const differences: string[] = [];
  for (const sequence of sequences) {
    const expected = await testDriverVirsh(sequence);
    const answer = await evirtTestDriver(sequence);
    const actual = { ...answer, stdout: alignClockFigures(answer.stdout, expected.stdout) };
    try {
      assert.deepEqual(actual, expected);
    } catch (error) {
      differences.push(`${sequence}\n${(error as Error).message}`);
    }
  }
  assert.equal(differences.length, 0, differences.join("\n\n"));
}

/** How to bring the default domain into each state, and what virsh then prints. */
const STATES: Record<string, string> = {
  "running (unknown)": "",
  "paused (user)": "suspend test; ",
  "running (unpaused)": "suspend test; resume test; ",
  "shut off (destroyed)": "destroy test; ",
  "shut off (shutdown)": "shutdown test; ",
  "transient": "undefine test; ",
};

const LIFECYCLE_VERBS = [
  "start test",
  "shutdown test",
  "destroy test",
  "suspend test",
  "resume test",
  "reboot test",
  "reset test",
  "undefine test",
];

Deno.test({
  name: "test:///default: every lifecycle verb in every state answers as libvirt's test driver",
  ignore,
  async fn() {
    const sequences: string[] = [];
    for (const prefix of Object.values(STATES)) {
      for (const verb of LIFECYCLE_VERBS) {
        sequences.push(`${prefix}${verb}; domstate --reason test; list --all`);
      }
    }
    await assertSameAnswers(sequences);
  },
});

Deno.test({
  name: "test:///default: a failed command does not end a chain; the last one's status is the exit",
  ignore,
  async fn() {
    await assertSameAnswers([
      "resume test; domstate test",
      "domstate test; resume test",
      "domstate nosuch; domstate --reason test",
      "suspend nosuch; suspend test; suspend test",
      "destroy test; destroy test; start test; start test; list",
    ]);
  },
});

Deno.test({
  name: "test:///default: a bad command string runs nothing",
  ignore,
  async fn() {
    await assertSameAnswers([
      "list; bogus; destroy test",
      "destroy test; list --bogus",
    ]);
  },
});

const LIST_FLAGS = [
  "",
  "--all",
  "--inactive",
  "--name",
  "--uuid",
  "--id",
  "--table --all",
  "--title --all",
  "--persistent",
  "--transient",
  "--autostart",
  "--no-autostart",
  "--state-running",
  "--state-paused",
  "--state-shutoff",
  "--state-other",
  "--with-managed-save",
  "--without-managed-save",
  "--managed-save --all",
  "--with-snapshot",
  "--without-snapshot",
  "--with-checkpoint",
  "--without-checkpoint",
];

Deno.test({
  name: "test:///default: list answers every flag as virsh, in every state",
  ignore,
  async fn() {
    const sequences: string[] = [];
    for (const prefix of Object.values(STATES)) {
      for (const flags of LIST_FLAGS) sequences.push(`${prefix}list ${flags}`.trim());
    }
    await assertSameAnswers(sequences);
  },
});

const READ_VERBS = [
  "domstate test",
  "domstate --reason test",
  "domstats --state test",
  "domstats --state",
  "domstats --state --list-inactive",
  "domblklist test",
  "domblklist --details test",
  "dumpxml test",
  "dumpxml --inactive test",
  "domid test",
  "domname 1",
  "domuuid test",
  "nodeinfo",
  "domblkinfo test vdz",
  "domifstat test vnet9",
  "domblkstat test vdz",
  "domblkstat test",
  "domblkerror test",
  "autostart test; list --autostart; autostart --disable test; list --autostart --all",
  "vncdisplay test",
  "ttyconsole test",
  "domdisplay test",
  "domdisplay --type spice test",
  "domdisplay --all --type vnc test",
];

Deno.test({
  name: "test:///default: state, device lists, XML and host figures read as virsh, in every state",
  ignore,
  async fn() {
    const sequences: string[] = [];
    for (const prefix of Object.values(STATES)) {
      for (const verb of READ_VERBS) sequences.push(`${prefix}${verb}`);
    }
    await assertSameAnswers(sequences);
  },
});

Deno.test({
  name: "test:///default: an unknown domain answers as virsh for every verb",
  ignore,
  async fn() {
    const verbs = [
      ...LIFECYCLE_VERBS,
      "dominfo test",
      "domstate test",
      "dumpxml test",
      "domblklist test",
      "domblkinfo test vda",
      "domblkerror test",
      "vcpuinfo test",
      "dommemstat test",
      "domifstat test testnet0",
      "domid test",
      "domuuid test",
      "vncdisplay test",
      "ttyconsole test",
      "domdisplay test",
    ];
    await assertSameAnswers(verbs.map((verb) => verb.replace(" test", " nosuch")));
  },
});

const FIGURE_VERBS = [
  "dominfo test",
  "vcpuinfo test",
  "vcpuinfo --pretty test",
  "dommemstat test",
  "domifstat test testnet0",
  "domblkinfo test vda",
  "domblkinfo test /guest/diskimage1",
  "domblkstat test vda",
  "domblkstat test vda --human",
];

Deno.test({
  name: "test:///default: dominfo, vcpuinfo, dommemstat, domifstat and domblkinfo figures",
  ignore,
  async fn() {
    const sequences: string[] = [];
    for (const prefix of Object.values(STATES)) {
      for (const verb of FIGURE_VERBS) {
        sequences.push(`${prefix}${verb}`);
      }
    }
    await assertSameAnswers(sequences);
  },
});

Deno.test("alignClockFigures takes only close readings of the clock as equal", () => {
  const virshs = "CPU time:       1796341033.4s\nMax memory:     8388608 KiB";
  assert.equal(
    alignClockFigures("CPU time:       1796341035.4s\nMax memory:     8388608 KiB", virshs),
    virshs,
  );
  assert.notEqual(
    alignClockFigures("CPU time:       0.0s\nMax memory:     8388608 KiB", virshs),
    virshs,
  );
  assert.notEqual(
    alignClockFigures("CPU time:       1796341035.4s\nMax memory:     8388600 KiB", virshs),
    virshs,
  );
});

/** A second test domain, as a user would define it. */
const FOO_XML = `<domain type='test'>
  <name>foo</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='KiB'>1048576</memory>
  <vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/foo.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
`;

Deno.test({
  name: "test:///default: define, then every lifecycle verb, answers as libvirt's test driver",
  ignore,
  async fn() {
    const path = await Deno.makeTempFile({ prefix: "evirt-parity-", suffix: ".xml" });
    try {
      await Deno.writeTextFile(path, FOO_XML);
      const sequences = [
        `define ${path}; list --all; dumpxml foo`,
        `define ${path}; define ${path}; list --all`,
        `define ${path}; undefine foo; list --all`,
        `define ${path}; start foo; list; domstate --reason foo; dominfo foo; dumpxml foo`,
        `define ${path}; start foo; undefine foo; list --all; destroy foo; list --all`,
        ...LIFECYCLE_VERBS.map((verb) =>
          `define ${path}; ${verb.replace("test", "foo")}; domstate --reason foo`
        ),
        `define ${path}.missing`,
      ];
      // The policies: on_poweroff restart boots the guest again in place, on_reboot destroy
      // ends it.
      const policies = FOO_XML.replace(
        "</os>",
        "</os>\n  <on_poweroff>restart</on_poweroff>\n  <on_reboot>destroy</on_reboot>",
      );
      await Deno.writeTextFile(`${path}.policies`, policies);
      for (const verb of ["shutdown foo", "reboot foo", "suspend foo; shutdown foo"]) {
        sequences.push(
          `define ${path}.policies; start foo; ${verb}; domstate --reason foo; list --all`,
        );
      }
      await assertSameAnswers(sequences);
    } finally {
      await Deno.remove(path);
      await Deno.remove(`${path}.policies`).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "test:///default: capabilities, domain capabilities and tuning answer as libvirt's test driver",
  ignore,
  async fn() {
    await assertSameAnswers([
      "capabilities",
      "domcapabilities",
      "domcapabilities --machine pc",
      "capabilities; domcapabilities",
    ]);
  },
});

Deno.test({
  name: "test:///default: the device verbs answer as libvirt's test driver (which has none)",
  ignore,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-device-parity-" });
    try {
      const file = `${dir}/disk.xml`;
      Deno.writeTextFileSync(
        file,
        `<disk type='file'><source file='${dir}/b.img'/><target dev='vdb'/></disk>\n`,
      );
      await assertSameAnswers([
        `attach-disk test ${dir}/b.img vdb --config; domblklist test`,
        `attach-disk test ${dir}/b.img vdb; domblklist test`,
        `attach-disk test ${dir}/b.img vdb --print-xml`,
        "detach-disk test vda --config",
        "detach-disk test vdz",
        "change-media test vda --eject",
        `attach-device test ${file} --live`,
        `detach-device test ${file}`,
        `update-device test ${file} --config`,
        `destroy test; attach-device test ${file}; attach-device test ${file} --current`,
        "attach-interface test network default --config",
        "attach-interface test user x",
        "attach-interface test bridge br0 --model virtio --print-xml",
        "detach-interface test network --config",
        "detach-interface test bridge",
        "domif-getlink test aa:bb:cc:dd:ee:ff",
        "domif-getlink test testnet0 --config",
        "domif-getlink test 52:54:00:00:00:99",
        "domif-setlink test aa:bb:cc:dd:ee:ff down",
        "domif-setlink test aa:bb:cc:dd:ee:ff sideways",
        "domif-setlink test nosuch up",
      ]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
