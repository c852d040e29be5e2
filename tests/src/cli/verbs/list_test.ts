import assert from "node:assert/strict";
import { runFresh, testDomainXml, withHarness, withTempFile } from "../_cli_harness.ts";

Deno.test("list prints virsh's table of the default test domain", async () => {
  const result = await runFresh(["list"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    " Id   Name   State\n----------------------\n 1    test   running\n\n",
  );
  assert.equal(result.stderr, "");
});

Deno.test("list shows active domains by default, --inactive the others, --all both", async () => {
  await withHarness(async (harness) => {
    await withTempFile(testDomainXml("web"), async (path) => {
      assert.equal((await harness.run("define", path)).code, 0);
    });
    assert.equal((await harness.run("list", "--name")).stdout, "test\n\n");
    assert.equal((await harness.run("list", "--inactive", "--name")).stdout, "web\n\n");
    assert.equal((await harness.run("list", "--all", "--name")).stdout, "test\nweb\n\n");
    assert.equal(
      (await harness.run("list", "--all")).stdout,
      " Id   Name   State\n" +
        "-----------------------\n" +
        " 1    test   running\n" +
        " -    web    shut off\n\n",
    );
  });
});

Deno.test("list filters by state, persistence and autostart", async () => {
  await withHarness(async (harness) => {
    await withTempFile(testDomainXml("web"), async (path) => {
      assert.equal((await harness.run("create", path, "--paused")).code, 0);
    });
    assert.equal((await harness.run("list", "--state-paused", "--name")).stdout, "web\n\n");
    assert.equal((await harness.run("list", "--state-running", "--name")).stdout, "test\n\n");
    assert.equal((await harness.run("list", "--transient", "--name")).stdout, "web\n\n");
    assert.equal((await harness.run("list", "--persistent", "--name")).stdout, "test\n\n");
    assert.equal((await harness.run("list", "--all", "--state-shutoff", "--name")).stdout, "\n");
    assert.equal((await harness.run("autostart", "test")).code, 0);
    assert.equal((await harness.run("list", "--autostart", "--name")).stdout, "test\n\n");
    assert.equal((await harness.run("list", "--no-autostart", "--name")).stdout, "web\n\n");
  });
});

Deno.test("list --uuid --name prints both, uuid first", async () => {
  const result = await runFresh(["list", "--uuid", "--name"]);
  assert.equal(result.stdout, "6695eb01-f6a4-8304-79aa-97f2502e193f test\n\n");
});

Deno.test("list --title adds the Title column", async () => {
  await withHarness(async (harness) => {
    assert.equal((await harness.run("desc", "test", "--title", "the", "default")).code, 0);
    assert.equal(
      (await harness.run("list", "--title")).stdout,
      " Id   Name   State     Title\n" +
        "------------------------------------\n" +
        " 1    test   running   the default\n\n",
    );
  });
});

Deno.test("list --json prints the API's summaries and no trailing empty line", async () => {
  const result = await runFresh(["list", "--json"]);
  assert.equal(result.code, 0);
  const domains = JSON.parse(result.stdout);
  assert.equal(domains.length, 1);
  assert.equal(domains[0].name, "test");
  assert.equal(domains[0].id, 1);
  assert.equal(domains[0].stateName, "running");
  assert.ok(result.stdout.endsWith("]\n"));
});

Deno.test("list -q prints the rows without header or trailing empty line", async () => {
  const result = await runFresh(["-q", "list"]);
  assert.equal(result.stdout, " 1   test   running\n");
});

Deno.test("list refuses --table with --name, as virsh", async () => {
  const result = await runFresh(["list", "--table", "--name"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: Options --table and --name are mutually exclusive\n");
});

Deno.test("list refuses an unknown flag, naming it", async () => {
  const result = await runFresh(["list", "--with-snapshots"]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr, "error: command 'list' doesn't support option --with-snapshots\n");
});
