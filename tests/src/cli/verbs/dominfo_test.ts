import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("dominfo prints the default test domain in virsh's layout", async () => {
  const result = await runFresh(["dominfo", "test"]);
  assert.equal(result.code, 0);
  // CPU time grows with the clock: check its form, then the exact rest.
  const lines = result.stdout.split("\n");
  const cpuTime = lines.findIndex((line) => line.startsWith("CPU time:"));
  if (cpuTime !== -1) {
    assert.match(lines[cpuTime], /^CPU time: {7}\d+\.\ds$/);
    lines.splice(cpuTime, 1);
  }
  assert.equal(
    lines.join("\n"),
    "Id:             1\n" +
      "Name:           test\n" +
      "UUID:           6695eb01-f6a4-8304-79aa-97f2502e193f\n" +
      "OS Type:        linux\n" +
      "State:          running\n" +
      "CPU(s):         2\n" +
      "Max memory:     8388608 KiB\n" +
      "Used memory:    2097152 KiB\n" +
      "Persistent:     yes\n" +
      "Autostart:      disable\n" +
      "Managed save:   no\n" +
      "Security model: testSecurity\n" +
      "Security DOI:   \n" +
      "Security label: libvirt-test (enforcing)\n\n",
  );
});

Deno.test("dominfo finds a domain by id, by uuid and with the --domain form", async () => {
  for (const words of [["1"], ["6695eb01-f6a4-8304-79aa-97f2502e193f"], ["--domain", "test"]]) {
    const result = await runFresh(["dominfo", ...words]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Id: {13}1\nName: {11}test\n/);
  }
});

Deno.test("dominfo of a destroyed domain shows '-', the clock as CPU time and no label", async () => {
  await withHarness(async (harness) => {
    assert.equal((await harness.run("destroy", "test")).code, 0);
    const result = await harness.run("dominfo", "test");
    assert.match(result.stdout, /^Id: {13}-\n/);
    assert.match(result.stdout, /\nState: {10}shut off\n/);
    // libvirt's test driver answers the wall clock as CPU time, in any state.
    assert.match(result.stdout, /\nCPU time: {7}\d+\.\ds\n/);
    assert.doesNotMatch(result.stdout, /Security label/);
  });
});

Deno.test("dominfo of an unknown domain fails as virsh", async () => {
  const result = await runFresh(["dominfo", "nosuch"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
  // virsh ends every command it ran with an empty line, failed or not.
  assert.equal(result.stdout, "\n");
});

Deno.test("dominfo --json prints the API's info view", async () => {
  const info = JSON.parse((await runFresh(["dominfo", "test", "--json"])).stdout);
  assert.equal(info.maxMemoryKiB, 8388608);
  assert.equal(info.memoryKiB, 2097152);
  assert.equal(info.vcpus, 2);
  assert.equal(info.osType, "linux");
});

Deno.test("dominfo without a domain names the missing option", async () => {
  const result = await runFresh(["dominfo"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: command 'dominfo' requires <domain> option\n");
  assert.equal(result.stdout, "");
});
