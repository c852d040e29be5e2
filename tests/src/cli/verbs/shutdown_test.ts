import assert from "node:assert/strict";
import { withHarness, withTempFile } from "../_cli_harness.ts";
import { parseVerbArguments } from "../../../../src/cli/arguments.ts";
import { verbOptions } from "../../../../src/cli/verb.ts";
import { SHUTDOWN_WAIT_DEFAULT_SECONDS, shutdownVerb } from "../../../../src/cli/verbs/shutdown.ts";

const OPTIONS = verbOptions(shutdownVerb);

Deno.test("shutdown --wait bare waits the default; --wait=N waits N; the next word stays data", () => {
  const bare = parseVerbArguments("shutdown", OPTIONS, ["--wait", "web"]);
  assert.equal(bare.integer("wait"), SHUTDOWN_WAIT_DEFAULT_SECONDS);
  assert.equal(bare.text("domain"), "web");
  assert.equal(parseVerbArguments("shutdown", OPTIONS, ["web", "--wait=7"]).integer("wait"), 7);
  assert.equal(parseVerbArguments("shutdown", OPTIONS, ["web"]).has("wait"), false);
});

Deno.test("shutdown --wait refuses 0 and more than an hour, naming the option", () => {
  for (const value of ["0", "3601", "x"]) {
    assert.throws(
      () => parseVerbArguments("shutdown", OPTIONS, ["web", `--wait=${value}`]),
      new RegExp(`Numeric value '${value}' for <wait> option is malformed or out of range`),
    );
  }
});

Deno.test("shutdown without --wait answers at once, as virsh", async () => {
  await withHarness(async (harness) => {
    const result = await harness.run("shutdown", "test");
    assert.equal(result.stdout, "Domain 'test' is being shutdown\n\n");
  });
});

Deno.test("shutdown --wait answers once the domain is shut off", async () => {
  await withHarness(async (harness) => {
    const result = await harness.run("shutdown", "--wait=10", "test");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "Domain 'test' is shut off\n\n");
    assert.equal((await harness.run("domstate", "test")).stdout, "shut off\n\n");
  });
});

Deno.test("shutdown --wait of a guest that does not stop fails with code 68 after SECONDS", async () => {
  // on_poweroff=restart: the test hypervisor boots the guest again instead of stopping it.
  const xml = "<domain type='test'><name>keep</name><memory unit='MiB'>64</memory>" +
    "<vcpu>1</vcpu><os><type>hvm</type></os><on_poweroff>restart</on_poweroff><devices/></domain>";
  await withHarness(async (harness) => {
    await withTempFile(xml, async (path) => {
      assert.equal((await harness.run("create", path)).code, 0);
      const result = await harness.run("shutdown", "keep", "--wait=1");
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        "error: Failed to shutdown domain 'keep'\n" +
          "error: Timed out during operation: the guest did not shut down within 1 s " +
          "(the request reached it)\n",
      );
      assert.equal((await harness.run("domstate", "keep")).stdout, "running\n\n");
    });
  });
});
