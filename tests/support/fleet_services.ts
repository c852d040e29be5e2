/**
 * Two or three real evirt services sharing one NATS server the test starts (each with its own
 * state and runtime directories), and polling for what the fleet converges to.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startNatsServer } from "./nats_server.ts";
import {
  removeServiceDirs,
  type ServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "./service_process.ts";

/** Polls `probe` until it is true, for at most `ms`. */
export async function eventually(what: string, probe: () => Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Runs `body` with `names.length` services on one fresh NATS server; stops all after.
 * `extraEnv` adds to a service's environment (by its index).
 */
export async function withFleet(
  names: string[],
  body: (
    services: ServiceProcess[],
    restart: (index: number) => Promise<ServiceProcess>,
    url: string,
  ) => Promise<void>,
  extraEnv: (index: number) => Record<string, string> = () => ({}),
): Promise<void> {
  const server = await startNatsServer();
  const dirs: ServiceDirs[] = [];
  const services: ServiceProcess[] = [];
  const env = (index: number) => ({
    EVIRT_LOG: server.url,
    EVIRT_HOST: names[index],
    EVIRT_HOST_TTL_MS: "1500",
    ...extraEnv(index),
  });
  try {
    for (let index = 0; index < names.length; index++) {
      dirs.push(await serviceDirs());
      services.push(await startServiceProcess(dirs[index], env(index)));
    }
    await body(services, async (index) => {
      services[index] = await startServiceProcess(dirs[index], env(index));
      return services[index];
    }, server.url);
  } finally {
    for (const service of services) await service.stop("SIGKILL");
    for (const each of dirs) await removeServiceDirs(each);
    await server.stop();
  }
}
