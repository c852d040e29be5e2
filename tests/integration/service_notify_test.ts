/**
 * systemd's readiness protocol, with the test as systemd: the real service (`src/service/main.ts`)
 * gets a `NOTIFY_SOCKET` of the test's own and must send `READY=1` only once it answers, then
 * `RELOADING=1`/`READY=1` around a SIGHUP reload and `STOPPING=1` when stopped.
 *
 * @module
 */

import assert from "node:assert/strict";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";

/** Longest a notification may take to come, in ms (a generous bound, not a figure). */
const MESSAGE_TIMEOUT_MS = 30_000;

/** The next datagram on `socket`, as text. */
async function nextMessage(socket: Deno.DatagramConn): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no notification within ${MESSAGE_TIMEOUT_MS} ms`)),
      MESSAGE_TIMEOUT_MS,
    );
  });
  try {
    const [data] = await Promise.race([socket.receive(), timeout]);
    return new TextDecoder().decode(data);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("the service notifies READY=1 once it answers, RELOADING=1 on SIGHUP, STOPPING=1 on SIGTERM", async () => {
  const dirs = await serviceDirs();
  const notifyPath = `${dirs.stateDir}/../notify`;
  const socket = Deno.listenDatagram({ transport: "unixpacket", path: notifyPath });
  try {
    const ready = nextMessage(socket);
    const service = await startServiceProcess(dirs, { NOTIFY_SOCKET: notifyPath });
    try {
      const message = await ready;
      assert.match(message, /^READY=1\nSTATUS=ready: 0 domains, 0 active\nMAINPID=\d+\n$/);
      assert.equal(Number(/MAINPID=(\d+)/.exec(message)?.[1]), service.child.pid);
      // Ready means answering: the socket already serves.
      assert.equal((await service.client.version()).evirt.length > 0, true);
      const reloading = nextMessage(socket);
      service.child.kill("SIGHUP");
      assert.equal(await reloading, "RELOADING=1\n");
      assert.equal(await nextMessage(socket), "READY=1\n");
      const stopping = nextMessage(socket);
      const status = service.stop("SIGTERM");
      assert.equal(await stopping, "STOPPING=1\n");
      assert.equal((await status).code, 0, service.log());
      assert.match(service.log(), /SIGHUP: nothing to reload/);
      // The sending sockets were short-lived files in the runtime directory.
      assert.deepEqual(
        [...Deno.readDirSync(dirs.runtimeDir)].filter((entry) => entry.name.startsWith("notify")),
        [],
      );
    } finally {
      await service.stop("SIGKILL");
    }
  } finally {
    socket.close();
    await removeServiceDirs(dirs);
  }
});
