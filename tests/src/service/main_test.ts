import assert from "node:assert/strict";

const MAIN = new URL("../../../src/service/main.ts", import.meta.url).pathname;

/** Runs the service entry in a child with `env`; its exit code and standard error. */
async function runMain(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("the service entry rejects an invalid EVIRT_STATE_DIR naming the variable", async () => {
  const { code, stderr } = await runMain({ EVIRT_STATE_DIR: "relative/dir" });
  assert.equal(code, 1);
  assert.match(stderr, /EVIRT_STATE_DIR must be an absolute path/);
});

Deno.test("the service refuses a 0-byte event log while QEMU runtime records exist, with recovery steps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-main-" });
  try {
    await Deno.mkdir(`${dir}/state`);
    await Deno.writeFile(`${dir}/state/events.sqlite`, new Uint8Array());
    await Deno.mkdir(`${dir}/run/qemu/domain-3-web`, { recursive: true });
    const { code, stderr } = await runMain({
      EVIRT_STATE_DIR: `${dir}/state`,
      EVIRT_RUNTIME_DIR: `${dir}/run`,
    });
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /refusing to open the event log: the event log '.*events\.sqlite' is empty \(0 bytes\), but runtime records of domains exist \('.*\/run\/qemu\/domain-3-web'\)/,
    );
    assert.match(stderr, /to recover: \(1\) restore the log/);
    assert.doesNotMatch(stderr, /ready:/);
    assert.equal((await Deno.stat(`${dir}/state/events.sqlite`)).size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the service entry's --help prints its usage and starts nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-main-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "--help"],
      env: { EVIRT_STATE_DIR: `${dir}/state`, EVIRT_RUNTIME_DIR: `${dir}/run` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0);
    const stdout = new TextDecoder().decode(output.stdout);
    assert.match(stdout, /^usage: evirt daemon/);
    assert.match(stdout, /SIGHUP/);
    assert.equal(new TextDecoder().decode(output.stderr), "");
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the service entry refuses an unknown argument before starting", async () => {
  const { code, stderr } = await runMain({ EVIRT_STATE_DIR: "/nonexistent/never" }, [
    "--frobnicate",
  ]);
  assert.equal(code, 1);
  assert.match(stderr, /^\S+Z error service: unknown argument '--frobnicate' \(see --help\)\n$/);
});

Deno.test("the service entry refuses an unknown EVIRT_LOG_FORMAT, naming the variable", async () => {
  const { code, stderr } = await runMain({ EVIRT_LOG_FORMAT: "xml" });
  assert.equal(code, 1);
  assert.match(stderr, /error service: EVIRT_LOG_FORMAT must be text or json, got 'xml'\n$/);
});

Deno.test("the service refuses a configuration file with a bad value, naming file, line and key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-main-" });
  try {
    await Deno.writeTextFile(
      `${dir}/evirt.toml`,
      `state_dir = "${dir}/state"\nrequest_head_max_bytes = 10\n`,
    );
    const { code, stderr } = await runMain({ EVIRT_RUNTIME_DIR: `${dir}/run` }, [
      "--config",
      `${dir}/evirt.toml`,
    ]);
    assert.equal(code, 1);
    assert.match(
      stderr,
      /error service: \S+\/evirt\.toml:2: request_head_max_bytes must be at least 4096, got '10'\n$/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["evirt.toml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the service refuses EVIRT_CONFIG naming a file that does not exist", async () => {
  const { code, stderr } = await runMain({ EVIRT_CONFIG: "/nonexistent/evirt.toml" });
  assert.equal(code, 1);
  assert.match(
    stderr,
    /error service: EVIRT_CONFIG names a file that does not exist: '\/nonexistent\/evirt\.toml'\n$/,
  );
});
