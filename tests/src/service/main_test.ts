import assert from "node:assert/strict";

Deno.test("the service entry rejects an invalid EVIRT_STATE_DIR naming the variable", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("../../../src/service/main.ts", import.meta.url).pathname],
    env: { EVIRT_STATE_DIR: "relative/dir" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 1);
  assert.match(new TextDecoder().decode(output.stderr), /EVIRT_STATE_DIR must be an absolute path/);
});

Deno.test("the service refuses a 0-byte event log while QEMU runtime records exist, with recovery steps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-main-" });
  try {
    await Deno.mkdir(`${dir}/state`);
    await Deno.writeFile(`${dir}/state/events.sqlite`, new Uint8Array());
    await Deno.mkdir(`${dir}/run/qemu/domain-3-web`, { recursive: true });
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../../../src/service/main.ts", import.meta.url).pathname,
      ],
      env: { EVIRT_STATE_DIR: `${dir}/state`, EVIRT_RUNTIME_DIR: `${dir}/run` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, stderr);
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
