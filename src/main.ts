/**
 * The evirt service entry point (`deno task start`).
 *
 * Until the API lands it reads and prints its configuration and exits 0, so the start command
 * already proves the configuration is valid.
 *
 * @module
 */

import { ConfigError, loadProcessConfig } from "./config.ts";
import { VERSION } from "./version.ts";

/** Runs the service; returns the process exit code. */
export function main(): number {
  let loaded;
  try {
    loaded = loadProcessConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`evirt: error: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const { config, sources } = loaded;
  console.log(`evirt ${VERSION}`);
  for (const key of Object.keys(config) as (keyof typeof config)[]) {
    console.log(`${key.padEnd(20)} ${String(config[key]).padEnd(40)} (${sources[key]})`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(main());
