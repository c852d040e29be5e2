import assert from "node:assert/strict";
import { runFresh, withHarness } from "./_cli_harness.ts";

Deno.test("lifecycle verbs print virsh's success lines, each followed by an empty line", async () => {
  await withHarness(async (harness) => {
    const steps: [string[], string, string][] = [
      [["suspend", "test"], "Domain 'test' suspended\n\n", "paused"],
      [["resume", "test"], "Domain 'test' resumed\n\n", "running"],
      [["reset", "test"], "Domain 'test' was reset\n\n", "running"],
      [["reboot", "test"], "Domain 'test' is being rebooted\n\n", "running"],
      [["destroy", "test"], "Domain 'test' destroyed\n\n", "shut off"],
      [["start", "test", "--paused"], "Domain 'test' started\n\n", "paused"],
      [["resume", "test"], "Domain 'test' resumed\n\n", "running"],
      [["destroy", "--graceful", "test"], "Domain 'test' destroyed\n\n", "shut off"],
      [["start", "--domain", "test"], "Domain 'test' started\n\n", "running"],
    ];
    for (const [words, output, state] of steps) {
      const result = await harness.run(...words);
      assert.equal(result.stderr, "", words.join(" "));
      assert.equal(result.code, 0, words.join(" "));
      assert.equal(result.stdout, output);
      assert.equal((await harness.run("domstate", "test")).stdout, `${state}\n\n`);
    }
  });
});

Deno.test("shutdown asks the guest and answers at once", async () => {
  await withHarness(async (harness) => {
    const result = await harness.run("shutdown", "test");
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "Domain 'test' is being shutdown\n\n");
    await harness.core.host.waitFor(
      harness.core.host.lookup("test").uuid,
      (domain) => !domain.active,
      5000,
    );
    assert.equal(
      (await harness.run("domstate", "--reason", "test")).stdout,
      "shut off (shutdown)\n\n",
    );
  });
});

Deno.test("a lifecycle verb names the domain by its name when given an id", async () => {
  const result = await runFresh(["suspend", "1"]);
  assert.equal(result.stdout, "Domain 'test' suspended\n\n");
});

Deno.test("start of a running domain says only what virsh says and exits 1", async () => {
  const result = await runFresh(["start", "test"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: Domain is already active\n");
  assert.equal(result.stdout, "\n");
});

Deno.test("a refused action prints virsh's two error lines and exits 1", async () => {
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    const refused = await harness.run("reboot", "test");
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      "error: Failed to reboot domain 'test'\n" +
        "error: Requested operation is not valid: domain is not running\n",
    );
  });
});

Deno.test("suspend of a shut off domain fails with libvirt's reason", async () => {
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    const result = await harness.run("suspend", "test");
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: Failed to suspend domain 'test'\nerror: internal error: domain 'test' not running\n$/,
    );
  });
});

Deno.test("resume of a running domain fails as libvirt's test driver does", async () => {
  const result = await runFresh(["resume", "test"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: Failed to resume domain 'test'\nerror: internal error: domain 'test' not paused\n",
  );
});

Deno.test("a lifecycle verb on an unknown domain fails as virsh and changes nothing", async () => {
  await withHarness(async (harness) => {
    for (const verb of ["start", "shutdown", "destroy", "reboot", "reset", "suspend", "resume"]) {
      const result = await harness.run(verb, "nosuch");
      assert.equal(result.code, 1, verb);
      assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n", verb);
    }
    assert.equal((await harness.run("domstate", "test")).stdout, "running\n\n");
  });
});

Deno.test("a read-only connection refuses actions, naming the libvirt call", async () => {
  await withHarness(async (harness) => {
    const result = await harness.run("-r", "destroy", "test");
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "error: Failed to destroy domain 'test'\n" +
        "error: operation forbidden: read only access prevents virDomainDestroy\n",
    );
    assert.equal((await harness.run("domstate", "test")).stdout, "running\n\n");
  });
});

Deno.test("a lifecycle verb refuses a bad flag before acting", async () => {
  await withHarness(async (harness) => {
    const result = await harness.run("destroy", "test", "--force");
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "error: command 'destroy' doesn't support option --force\n");
    assert.equal((await harness.run("domstate", "test")).stdout, "running\n\n");
  });
});

Deno.test("-q leaves out the success line", async () => {
  const result = await runFresh(["-q", "suspend", "test"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, "");
});
