import assert from "node:assert/strict";
import { VERSION } from "../../../src/model/version.ts";
import { runFresh } from "./_cli_harness.ts";
import { CLI_PATH, CLI_TIMEOUT_MS, runEvirt } from "../../support/cli_process.ts";

const evirt = runEvirt;

Deno.test("evirt -c test:///default list prints virsh's table and exits 0", async () => {
  const result = await evirt(["-c", "test:///default", "list"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    " Id   Name   State\n----------------------\n 1    test   running\n\n",
  );
  assert.equal(result.stderr, "");
});

Deno.test("evirt with an unknown domain prints virsh's error on stderr and exits 1", async () => {
  const result = await evirt(["dominfo", "nosuch"], { EVIRT_DEFAULT_URI: "test:///default" });
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
  assert.equal(result.stdout, "\n");
});

Deno.test("evirt start of a running domain prints virsh's one error line and exits 1", async () => {
  const result = await evirt(["-c", "test:///default", "start", "test"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: Domain is already active\n");
});

Deno.test("evirt without a running service fails to connect as virsh", async () => {
  const directory = await Deno.makeTempDir({ prefix: "evirt-cli-run-" });
  try {
    const result = await evirt(["list"], { EVIRT_RUNTIME_DIR: directory });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      "error: failed to connect to the hypervisor\n" +
        `error: Failed to connect socket to '${directory}/evirt.sock': No such file or directory\n`,
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("evirt --version prints the version and exits 0", async () => {
  const result = await evirt(["--version"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `${VERSION}\n`);
});

Deno.test("evirt with an unknown verb fails like virsh", async () => {
  const result = await evirt(["frobnicate"]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr, "error: unknown command: 'frobnicate'\n");
});

Deno.test("evirt event --loop ends on SIGINT with virsh's summary", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      CLI_PATH,
      "-c",
      "test:///default",
      "event",
      "--all",
      "--loop",
      "--since",
      "0",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLI_TIMEOUT_MS),
  }).spawn();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let stdout = "";
  // Both replayed events printed means the SIGINT listener is in place.
  while (stdout.split("\n").length < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += decoder.decode(value, { stream: true });
  }
  child.kill("SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += decoder.decode(value, { stream: true });
  }
  const status = await child.status;
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  assert.equal(stderr, "");
  assert.equal(status.code, 0);
  assert.equal(
    stdout,
    "event 'lifecycle' for domain 'test': Defined Added\n" +
      "event 'lifecycle' for domain 'test': Started Booted\n" +
      "event loop interrupted\nevents received: 2\n\n",
  );
});

Deno.test("runCli prints the general help without a verb", async () => {
  for (const words of [[], ["help"], ["-h"]]) {
    const result = await runFresh(words);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^usage: evirt /);
    assert.match(result.stdout, /\n {4}dominfo +domain information\n/);
  }
});

Deno.test("runCli prints one verb's help for 'help VERB' and 'VERB --help'", async () => {
  for (const words of [["help", "dominfo"], ["dominfo", "--help"]]) {
    const result = await runFresh(words);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /dominfo - domain information/);
  }
  const unknown = await runFresh(["help", "nosuch"]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, "error: command or command group 'nosuch' doesn't exist\n");
});

Deno.test("runCli refuses an unknown global option", async () => {
  const result = await runFresh(["--frob", "list"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: unsupported option '--frob'. See --help.\n");
});

Deno.test("runCli refuses an invalid EVIRT_DEFAULT_URI or EVIRT_XML_MAX_BYTES, naming it", async () => {
  const uri = await runFresh(["list"], { EVIRT_DEFAULT_URI: "xen:///" });
  assert.equal(uri.code, 1);
  assert.match(
    uri.stderr,
    /^error: invalid argument: EVIRT_DEFAULT_URI has an unsupported URI 'xen:\/\/\/'/,
  );
  const size = await runFresh(["list"], { EVIRT_XML_MAX_BYTES: "lots" });
  assert.equal(size.code, 1);
  assert.equal(
    size.stderr,
    "error: invalid argument: EVIRT_XML_MAX_BYTES must be a positive integer, got 'lots'\n",
  );
});

Deno.test("runCli with -q prints results only", async () => {
  const result = await runFresh(["-q", "domstate", "test"]);
  assert.equal(result.stdout, "running\n");
});
