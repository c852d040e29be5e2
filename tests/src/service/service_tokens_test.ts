import assert from "node:assert/strict";
import { loadConfig } from "../../../src/config/config.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { startService } from "../../../src/service/service.ts";

const TOKENS = "read-write rw-token-0123456789abcdef\nread-only ro-token-0123456789abcdef\n";

async function withTokensFile(
  mode: number,
  fn: (config: ReturnType<typeof loadConfig>["config"], path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-tokens-" });
  const path = `${dir}/tokens`;
  await Deno.writeTextFile(path, TOKENS);
  await Deno.chmod(path, mode);
  const { config } = loadConfig({
    EVIRT_STATE_DIR: `${dir}/state`,
    EVIRT_RUNTIME_DIR: `${dir}/run`,
    EVIRT_LISTEN: "127.0.0.1:0",
    EVIRT_TOKENS_FILE: path,
  }, { uid: 1000 });
  try {
    await fn(config, path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("startService refuses a tokens file that group or others can read, naming the file and mode", async () => {
  for (const mode of [0o644, 0o640, 0o604]) {
    await withTokensFile(mode, async (config, path) => {
      await assert.rejects(
        () => startService(config, { log: () => {} }),
        (error) =>
          isVirtError(error, 8) && error.message.includes(`'${path}'`) &&
          error.message.includes(`mode ${mode.toString(8).padStart(4, "0")}`),
      );
    });
  }
});

Deno.test("startService accepts a tokens file only its owner can read", async () => {
  await withTokensFile(0o600, async (config) => {
    const service = await startService(config, { log: () => {} });
    try {
      assert.ok(service.server.tcpPort !== undefined && service.server.tcpPort > 0);
    } finally {
      await service.stop();
    }
  });
});

Deno.test("reload re-reads the tokens file: the new token is accepted, the old one refused", async () => {
  await withTokensFile(0o600, async (config, path) => {
    const service = await startService(config, { log: () => {} });
    try {
      const url = `http://127.0.0.1:${service.server.tcpPort}/v1/version`;
      const status = async (token: string) => {
        const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        await response.body?.cancel();
        return response.status;
      };
      assert.equal(await status("ro-token-0123456789abcdef"), 200);
      await Deno.writeTextFile(path, "read-only next-token-0123456789abcdef\n");
      assert.match(await service.reload(), /tokens re-read from .*: 1$/);
      assert.equal(await status("next-token-0123456789abcdef"), 200);
      assert.equal(await status("ro-token-0123456789abcdef"), 401);
    } finally {
      await service.stop();
    }
  });
});

Deno.test("reload refuses an invalid tokens file and keeps the tokens in use", async () => {
  await withTokensFile(0o600, async (config, path) => {
    const service = await startService(config, { log: () => {} });
    try {
      await Deno.writeTextFile(path, "read-only short\n");
      await assert.rejects(() => service.reload(), /16 characters or more/);
      const response = await fetch(`http://127.0.0.1:${service.server.tcpPort}/v1/version`, {
        headers: { authorization: "Bearer ro-token-0123456789abcdef" },
      });
      await response.body?.cancel();
      assert.equal(response.status, 200);
    } finally {
      await service.stop();
    }
  });
});
