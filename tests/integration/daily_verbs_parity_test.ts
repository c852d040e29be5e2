/**
 * The daily verbs of issue 13 on `test:///default` beside `virsh -c test:///default` (libvirt
 * 9.0's test driver): `domiflist`, `send-key`, `domrename`, `dumpxml --xpath`, `shutdown` and
 * `reboot --mode agent`, `qemu-monitor-command` and `qemu-agent-command` (which the test driver
 * does not support): the same stdout, stderr and exit code.
 */

import assert from "node:assert/strict";
import {
  assertSameAsTestDriver,
  evirtTestDriver,
  testDriverAbsent,
  testDriverVirsh,
} from "../support/test_driver_oracle.ts";

const ignore = testDriverAbsent();

function assertSameAnswers(sequences: string[]): Promise<void> {
  return assertSameAsTestDriver(sequences, evirtTestDriver);
}

Deno.test({
  name: "test:///default: domiflist answers as libvirt's test driver",
  ignore,
  fn: () => assertSameAnswers(["domiflist test", "domiflist test --inactive", "domiflist nosuch"]),
});

Deno.test({
  name: "test:///default: send-key checks codesets and key codes as libvirt's test driver",
  ignore,
  fn: () =>
    assertSameAnswers([
      "send-key test KEY_A",
      "send-key test --holdtime 50 KEY_LEFTCTRL KEY_LEFTALT KEY_DELETE",
      "send-key test 999",
      "send-key test KEY_FOO",
      "send-key test --codeset xt 30",
      "send-key test --codeset usb 4",
      "send-key test --codeset qnum 0xc8",
      "send-key test --codeset win32 VK_RETURN",
      "send-key test --codeset atset2 28",
      "destroy test; send-key test KEY_A",
      "send-key test --codeset bogus 1",
      "send-key test 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
      "send-key nosuch KEY_A",
      "screenshot nosuch",
      "domrename nosuch x",
      "qemu-monitor-command test --hmp --pretty info",
    ]),
});

Deno.test({
  name: "test:///default: domrename renames an inactive domain and refuses as libvirt",
  ignore,
  fn: () =>
    assertSameAnswers([
      "domrename test other",
      "destroy test; domrename test test",
      "destroy test; domrename test renamed; list --all; domstate renamed; dominfo test",
    ]),
});

Deno.test({
  name: "test:///default: dumpxml --xpath selects and wraps nodes as virsh",
  ignore,
  fn: () =>
    assertSameAnswers([
      "dumpxml test --xpath //disk/target/@dev",
      "dumpxml test --xpath //disk/target/@dev --wrap",
      "dumpxml test --xpath //disk --wrap",
      "dumpxml test --xpath '//os/type|//name' --wrap",
      "dumpxml test --xpath '//devices/*[2]'",
      "dumpxml test --xpath '//interface[mac/@address=\"aa:bb:cc:dd:ee:ff\"]/source/@network'",
      "dumpxml test --xpath '//name/text()'",
      "dumpxml test --xpath //nothing",
      "dumpxml test --xpath 'count(//disk)'",
    ]),
});

Deno.test({
  name: "test:///default: shutdown --mode agent is refused as an unsupported flag (code 8)",
  ignore,
  async fn() {
    const expected = await testDriverVirsh("shutdown --mode agent test");
    const actual = await evirtTestDriver("shutdown --mode agent test");
    assert.equal(actual.code, expected.code);
    assert.equal(actual.stdout, expected.stdout);
    // virsh prints this code-8 message without libvirt's "invalid argument: " prefix; evirt's
    // messages always carry their code's prefix.
    assert.equal(
      actual.stderr,
      expected.stderr.replace("error: unsupported", "error: invalid argument: unsupported"),
    );
  },
});

Deno.test({
  name: "test:///default: agent modes and QEMU-only commands answer as libvirt's test driver",
  ignore,
  fn: () =>
    assertSameAnswers([
      "reboot --mode agent test; domstate test --reason",
      `qemu-monitor-command test '{"execute":"query-status"}'`,
      `qemu-agent-command test '{"execute":"guest-ping"}'`,
    ]),
});
