import assert from "node:assert/strict";
import { testDomainXml, withHarness, withTempFile } from "../_cli_harness.ts";

Deno.test("create starts a transient domain and says so as virsh", async () => {
  await withHarness(async (harness) => {
    await withTempFile(testDomainXml("web"), async (path) => {
      const result = await harness.run("create", path);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `Domain 'web' created from ${path}\n\n`);
    });
    assert.equal((await harness.run("domstate", "web", "--reason")).stdout, "running (booted)\n\n");
    assert.match((await harness.run("dominfo", "web")).stdout, /\nPersistent: {5}no\n/);
  });
});

Deno.test("create --paused leaves the CPUs paused", async () => {
  await withHarness(async (harness) => {
    await withTempFile(testDomainXml("web"), async (path) => {
      assert.equal((await harness.run("create", "--paused", path)).code, 0);
    });
    assert.equal((await harness.run("domstate", "web", "--reason")).stdout, "paused (user)\n\n");
  });
});

Deno.test("create of an active domain's name fails with both lines", async () => {
  await withHarness(async (harness) => {
    const xml = testDomainXml("test", "6695eb01-f6a4-8304-79aa-97f2502e193f");
    await withTempFile(xml, async (path) => {
      const result = await harness.run("create", path);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`^error: Failed to create domain from ${path}\nerror: .+\n$`),
      );
    });
  });
});
