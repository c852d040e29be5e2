import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

const URI = "http://example.org/app";

Deno.test("metadata sets, shows and removes a namespace's element", async () => {
  await withHarness(async (harness) => {
    const set = await harness.run(
      "metadata",
      "test",
      URI,
      "--key",
      "app",
      "--set",
      "<app name='shop'/>",
    );
    assert.equal(set.stderr, "");
    assert.equal(set.stdout, "Metadata modified\n\n");
    const shown = await harness.run("metadata", "test", "--uri", URI);
    assert.equal(shown.code, 0);
    assert.equal(shown.stdout, "<app:app xmlns:app='http://example.org/app' name='shop'/>\n\n");
    const json = JSON.parse((await harness.run("metadata", "test", URI, "--json")).stdout);
    assert.equal(json.uri, URI);
    assert.match(json.value, /shop/);
    assert.equal(
      (await harness.run("metadata", "test", URI, "--remove")).stdout,
      "Metadata removed\n\n",
    );
    const gone = await harness.run("metadata", "test", URI);
    assert.equal(gone.code, 1);
    assert.equal(
      gone.stderr,
      "error: metadata not found: Requested metadata element is not present\n",
    );
  });
});

Deno.test("metadata --set needs --key, as virsh", async () => {
  const result = await runFresh(["metadata", "test", URI, "--set", "<a/>"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: namespace key is required when modifying metadata\n");
});

Deno.test("metadata refuses --set with --remove", async () => {
  const result = await runFresh([
    "metadata",
    "test",
    URI,
    "--key",
    "a",
    "--set",
    "<a/>",
    "--remove",
  ]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: Options --set and --remove are mutually exclusive\n");
});

Deno.test("metadata without a namespace URI names the missing option", async () => {
  const result = await runFresh(["metadata", "test"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: command 'metadata' requires <uri> option\n");
});
