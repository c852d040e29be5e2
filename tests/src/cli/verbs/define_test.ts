import assert from "node:assert/strict";
import { runFresh, testDomainXml, withHarness, withTempFile } from "../_cli_harness.ts";

Deno.test("define defines from a file and says so as virsh", async () => {
  await withHarness(async (harness) => {
    await withTempFile(testDomainXml("web"), async (path) => {
      const result = await harness.run("define", path);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `Domain 'web' defined from ${path}\n\n`);
    });
    assert.equal(
      (await harness.run("domstate", "web", "--reason")).stdout,
      "shut off (unknown)\n\n",
    );
  });
});

Deno.test("define accepts evirt's JSON model", async () => {
  await withHarness(async (harness) => {
    const model = JSON.parse((await harness.run("dumpxml", "test", "--json", "--inactive")).stdout);
    const definition = { ...model.definition, name: "copy", uuid: undefined };
    await withTempFile(JSON.stringify(definition), async (path) => {
      const result = await harness.run("define", path);
      assert.equal(result.stderr, "");
      assert.equal(result.stdout, `Domain 'copy' defined from ${path}\n\n`);
    }, ".json");
  });
});

Deno.test("define of invalid XML fails with both lines and defines nothing", async () => {
  await withHarness(async (harness) => {
    await withTempFile("<domain type='test'><name>bad</name>", async (path) => {
      const result = await harness.run("define", path);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`^error: Failed to define domain from ${path}\nerror: XML error: `),
      );
    });
    assert.equal((await harness.run("list", "--all", "--name")).stdout, "test\n\n");
  });
});

Deno.test("define of a missing file fails as virsh", async () => {
  const result = await runFresh(["define", "/nonexistent/web.xml"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: Failed to open file '/nonexistent/web.xml': No such file or directory\n",
  );
});

Deno.test("define refuses a file larger than the XML limit without sending it", async () => {
  const big = testDomainXml("big").replace("</domain>", `<!--${"x".repeat(70_000)}--></domain>`);
  await withTempFile(big, async (path) => {
    const result = await runFresh(["define", path], { EVIRT_XML_MAX_BYTES: "65536" });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: Failed to read file '${path}': larger than the limit of 65536 bytes (EVIRT_XML_MAX_BYTES)\n`,
    );
  });
});
