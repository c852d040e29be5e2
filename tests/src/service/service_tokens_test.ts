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
