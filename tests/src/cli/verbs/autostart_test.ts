import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("autostart marks and --disable unmarks, as virsh says", async () => {
  await withHarness(async (harness) => {
    assert.equal(
      (await harness.run("autostart", "test")).stdout,
      "Domain 'test' marked as autostarted\n\n",
    );
    assert.match((await harness.run("dominfo", "test")).stdout, /\nAutostart: {6}enable\n/);
    assert.equal(
      (await harness.run("autostart", "--disable", "test")).stdout,
      "Domain 'test' unmarked as autostarted\n\n",
    );
    assert.match((await harness.run("dominfo", "test")).stdout, /\nAutostart: {6}disable\n/);
  });
});

Deno.test("autostart of a transient test domain marks it, as libvirt's test driver", async () => {
  await withHarness(async (harness) => {
    await harness.run("undefine", "test");
    const result = await harness.run("autostart", "test");
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "Domain 'test' marked as autostarted\n\n");
    assert.match((await harness.run("dominfo", "test")).stdout, /\nAutostart: {6}enable\n/);
  });
});

Deno.test("autostart on a read-only connection is refused", async () => {
  const result = await runFresh(["-r", "autostart", "test"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: Failed to mark domain 'test' as autostarted\n" +
      "error: operation forbidden: read only access prevents virDomainSetAutostart\n",
  );
});
