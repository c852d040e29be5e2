import assert from "node:assert/strict";
import { serveApi } from "../../../src/api/server.ts";
import {
  type ConnectionOptions,
  inProcessTransport,
  openConnection,
} from "../../../src/cli/connection.ts";
import { openTestHypervisor } from "../../../src/service/test_hypervisor.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

function options(overrides: Partial<ConnectionOptions>): ConnectionOptions {
  return {
    uri: "test:///default",
    readOnly: false,
    env: {},
    uid: 1000,
    xmlMaxBytes: 65536,
    warn: () => {},
    ...overrides,
  };
}

async function withRuntimeDir(fn: (directory: string) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "evirt-cli-run-" });
  try {
    await fn(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("openConnection to test:///default needs no service", async () => {
  const connection = await openConnection(options({}));
  try {
    const domains = await connection.client.listDomains();
    assert.deepEqual(domains.map((domain) => [domain.name, domain.id]), [["test", 1]]);
  } finally {
    await connection.close();
  }
});

Deno.test("openConnection to test:///default with -r is read-only", async () => {
  const connection = await openConnection(options({ readOnly: true }));
  try {
    await assert.rejects(
      connection.client.action("test", "destroy"),
      (error: Error) => isVirtError(error, ErrorCode.OPERATION_DENIED),
    );
  } finally {
    await connection.close();
  }
});

Deno.test("openConnection to evirt:///system without a service fails as virsh", async () => {
  await withRuntimeDir(async (directory) => {
    await assert.rejects(
      openConnection(
        options({ uri: "evirt:///system", env: { EVIRT_RUNTIME_DIR: directory, HOME: "/tmp" } }),
      ),
      (error: Error) =>
        isVirtError(error, ErrorCode.NO_CONNECT) &&
        error.message ===
          `Failed to connect socket to '${directory}/evirt.sock': No such file or directory`,
    );
  });
});

Deno.test("openConnection refuses a socket path that is not a socket", async () => {
  await withRuntimeDir(async (directory) => {
    await Deno.writeTextFile(`${directory}/evirt-ro.sock`, "");
    await assert.rejects(
      openConnection(
        options({
          uri: "evirt:///system",
          readOnly: true,
          env: { EVIRT_RUNTIME_DIR: directory, HOME: "/tmp" },
        }),
      ),
      (error: Error) =>
        isVirtError(error, ErrorCode.NO_CONNECT) &&
        error.message === `Failed to connect socket to '${directory}/evirt-ro.sock': not a socket`,
    );
  });
});

Deno.test("openConnection to evirt:///system talks to the service's sockets, -r to the read-only one", async () => {
  await withRuntimeDir(async (directory) => {
    const core = await openTestHypervisor({ xmlMaxBytes: 65536, log: () => {} });
    const server = await serveApi(core.api, {
      socketPath: `${directory}/evirt.sock`,
      readOnlySocketPath: `${directory}/evirt-ro.sock`,
    });
    try {
      const env = { EVIRT_RUNTIME_DIR: directory, HOME: "/tmp" };
      const readOnly = await openConnection(
        options({ uri: "evirt:///system", readOnly: true, env }),
      );
      try {
        assert.equal((await readOnly.client.state("test")).stateName, "running");
        await assert.rejects(
          readOnly.client.action("test", "suspend"),
          (error: Error) => isVirtError(error, ErrorCode.OPERATION_DENIED),
        );
      } finally {
        await readOnly.close();
      }
      const readWrite = await openConnection(options({ uri: "evirt:///system", env }));
      try {
        assert.equal((await readWrite.client.action("test", "suspend")).name, "test");
        assert.equal((await readWrite.client.state("test")).stateName, "paused");
      } finally {
        await readWrite.close();
      }
    } finally {
      await server.shutdown();
      await core.close();
    }
  });
});

Deno.test("openConnection over http sends --token before EVIRT_TOKEN as a bearer token", async () => {
  const seen: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    seen.push(request.headers.get("authorization"));
    return Response.json({ evirt: "9.9.9", api: "v1", hypervisors: [] });
  });
  try {
    const uri = `http://127.0.0.1:${server.addr.port}`;
    const env = { EVIRT_TOKEN: "from-the-environment" };
    for (const token of ["from-the-flag", undefined]) {
      const connection = await openConnection(
        options({ uri, env, ...(token === undefined ? {} : { token }) }),
      );
      assert.equal((await connection.client.version()).evirt, "9.9.9");
      await connection.close();
    }
    const bare = await openConnection(options({ uri }));
    await bare.client.version();
    await bare.close();
    assert.deepEqual(seen, ["Bearer from-the-flag", "Bearer from-the-environment", null]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("openConnection warns of a token over plain http to another host, and of -r over TCP", async () => {
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  await (await openConnection(options({ uri: "http://192.0.2.1:7000", token: "t", warn }))).close();
  await (await openConnection(options({ uri: "http://127.0.0.1:7000", token: "t", warn }))).close();
  await (await openConnection(options({ uri: "https://192.0.2.1:7000", token: "t", warn })))
    .close();
  await (await openConnection(options({ uri: "https://192.0.2.1:7000", readOnly: true, warn })))
    .close();
  assert.deepEqual(warnings, [
    "sending the token unencrypted over http to 192.0.2.1:7000; prefer https",
    "-r has no effect over TCP: the token's role decides what is allowed",
  ]);
});

Deno.test("inProcessTransport ends an event stream when its request is aborted", async () => {
  const core = await openTestHypervisor({ xmlMaxBytes: 65536, log: () => {} });
  try {
    const abort = new AbortController();
    const response = await inProcessTransport(core.api, "read-only")(
      new Request("http://evirt/v1/events?since=0", { signal: abort.signal }),
    );
    const reader = response.body!.getReader();
    assert.equal((await reader.read()).done, false);
    assert.equal(core.metrics.subscribers, 1);
    abort.abort(new Error("enough"));
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) return;
    }, /enough/);
    const subscribers = (): number => core.metrics.subscribers;
    for (let tries = 0; subscribers() !== 0 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(subscribers(), 0);
  } finally {
    await core.close();
  }
});
