import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("desc without a description says so as virsh", async () => {
  const result = await runFresh(["desc", "test"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, "No description for domain: test\n");
  assert.equal((await runFresh(["desc", "1", "--title"])).stdout, "No title for domain: test\n");
});

Deno.test("desc sets and shows the description and the title", async () => {
  await withHarness(async (harness) => {
    assert.equal(
      (await harness.run("desc", "test", "a", "test", "domain")).stdout,
      "Domain description updated successfully\n",
    );
    assert.equal((await harness.run("desc", "test")).stdout, "a test domain\n");
    assert.equal(
      (await harness.run("desc", "test", "--title", "--new-desc", "Test")).stdout,
      "Domain title updated successfully\n",
    );
    assert.equal((await harness.run("desc", "test", "--title")).stdout, "Test\n");
    // Without --config, a running domain's change is live only, as libvirt's.
    assert.equal(
      (await harness.run("desc", "test", "--config")).stdout,
      "No description for domain: test\n",
    );
    await harness.run("desc", "test", "--config", "persistent", "text");
    assert.equal((await harness.run("desc", "test", "--config")).stdout, "persistent text\n");
    const view = JSON.parse((await harness.run("desc", "test", "--json")).stdout);
    assert.deepEqual(view, { type: "description", value: "a test domain" });
  });
});

Deno.test("desc with an empty text removes the description", async () => {
  await withHarness(async (harness) => {
    await harness.run("desc", "test", "something");
    assert.equal((await harness.run("desc", "test", "--new-desc", "")).code, 0);
    assert.equal((await harness.run("desc", "test")).stdout, "No description for domain: test\n");
  });
});

Deno.test("desc refuses --current with --live", async () => {
  const result = await runFresh(["desc", "test", "--current", "--live"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: Options --current and --live are mutually exclusive\n");
});

Deno.test("desc refuses a title with a newline and keeps the old one", async () => {
  await withHarness(async (harness) => {
    const result = await harness.run("desc", "test", "--title", "two\nlines");
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "error: Failed to set new domain title\nerror: invalid argument: title can't contain newlines\n",
    );
    assert.equal(
      (await harness.run("desc", "test", "--title")).stdout,
      "No title for domain: test\n",
    );
  });
});

Deno.test("desc of an unknown domain fails as virsh", async () => {
  const result = await runFresh(["desc", "nosuch"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
});
