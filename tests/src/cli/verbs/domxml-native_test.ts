import assert from "node:assert/strict";
import { runFresh, withHarness, withTempFile } from "../_cli_harness.ts";

const XL = 'name = "g"\nuuid = "c7a5fdb2-cdaf-9455-926a-d65c16db1809"\nmemory = 256\n';

Deno.test("domxml-from-native prints the domain XML of an xl.cfg file", async () => {
  await withHarness(async (harness) => {
    await withTempFile(XL, async (path) => {
      const result = await harness.run("domxml-from-native", "xen-xl", path);
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      assert.ok(result.stdout.startsWith("<domain type='xen'>\n  <name>g</name>\n"));
      assert.match(result.stdout, /<type arch='x86_64' machine='xenpv'>linux<\/type>/);
      assert.match(result.stdout, /<\/domain>\n\n$/);
    }, ".cfg");
  });
});

Deno.test("domxml-to-native prints the xl.cfg of a file and of a defined domain", async () => {
  await withHarness(async (harness) => {
    const xml =
      "<domain type='xen'><name>g</name><uuid>c7a5fdb2-cdaf-9455-926a-d65c16db1809</uuid>" +
      "<memory>262144</memory><os><type>linux</type></os></domain>";
    await withTempFile(xml, async (path) => {
      const result = await harness.run("domxml-to-native", "xen-xl", path);
      assert.equal(result.stderr, "");
      assert.equal(
        result.stdout,
        'name = "g"\nuuid = "c7a5fdb2-cdaf-9455-926a-d65c16db1809"\nmaxmem = 256\nmemory = 256\n' +
          'vcpus = 1\nlocaltime = 0\non_poweroff = "destroy"\non_reboot = "restart"\non_crash = "destroy"\n\n',
      );
    });
    await withTempFile(
      "<domain type='test'><name>plain</name><memory>65536</memory><os><type>hvm</type></os></domain>",
      async (path) => assert.equal((await harness.run("define", path)).code, 0),
    );
    const byDomain = await harness.run("domxml-to-native", "xen-xm", "--domain", "plain");
    assert.equal(byDomain.code, 0, byDomain.stderr);
    assert.match(byDomain.stdout, /^name = "plain"\n/);
    // A network interface needs the network's bridge, which the xl/xm formats name: code 43.
    const withNetwork = await harness.run("domxml-to-native", "xen-xm", "--domain", "test");
    assert.equal(withNetwork.stderr, "error: Network not found: default\n");
  });
});

Deno.test("domxml-to-native refuses --domain with a file, and neither", async () => {
  await withHarness(async (harness) => {
    const both = await harness.run("domxml-to-native", "xen-xl", "/x.xml", "--domain", "test");
    assert.equal(both.code, 1);
    assert.equal(both.stderr, "error: Options --domain and --xml are mutually exclusive\n");
    const neither = await harness.run("domxml-to-native", "xen-xl");
    assert.equal(neither.stderr, "error: need either domain or domain XML\n");
  });
});

Deno.test("an unknown format fails with libvirt's code 8 message, alone as virsh prints it", async () => {
  await withHarness(async (harness) => {
    await withTempFile(XL, async (path) => {
      const result = await harness.run("domxml-from-native", "no-such", path);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, "error: invalid argument: unsupported config type no-such\n");
    }, ".cfg");
  });
});

Deno.test("domxml-from-native of a missing file fails as virsh", async () => {
  const result = await runFresh(["domxml-from-native", "xen-xl", "/nonexistent/g.cfg"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: Failed to open file '/nonexistent/g.cfg': No such file or directory\n",
  );
});
