/**
 * QEMU's migration stream to and from a save image (QEMU 7.2 knows the `tcp:`, `unix:`, `exec:`,
 * `fd:` and `rdma:` URIs; `file:` came later, `exec:` is forbidden by the sandbox's
 * `spawn=deny`, and passing an fd needs SCM_RIGHTS on the monitor socket). So the service is the
 * other end of a `unix:` socket in the instance's own folder:
 *
 * - **save**: the service listens, QMP `migrate` makes QEMU connect and send; the service writes
 *   what arrives after the image's header, and polls `query-migrate` until QEMU says `completed`;
 * - **restore**: QEMU started with `-incoming defer` listens after QMP `migrate-incoming`; the
 *   service connects and sends the stream from the image, and polls until `completed`.
 *
 * The service writes and reads the image itself, so the image's permissions are the service's,
 * as libvirt's root daemon opens the file and hands QEMU a descriptor.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { QmpExecutor } from "./qmp_commands.ts";
import { isRecord } from "./qmp_protocol.ts";
import { QMP_ACTION_TIMEOUT_MS } from "./qmp_monitor.ts";

/** Longest a save or restore stream may take, in ms. */
export const MIGRATION_TIMEOUT_MS = 600_000;
/** Pause between two `query-migrate` polls, in ms. */
export const MIGRATION_POLL_MS = 50;
/** Longest wait for QEMU to connect to the service's socket, in ms. */
export const MIGRATION_CONNECT_TIMEOUT_MS = 15_000;
/** Bandwidth cap set for a save (QEMU's default is 32 MiB/s), in bytes per second. */
export const SAVE_BANDWIDTH_BYTES_PER_SECOND = 1024 ** 4;
/** Chunk moved between the socket and the file, in bytes. */
const CHUNK_BYTES = 1024 * 1024;

/** `query-migrate`'s status and error. */
interface MigrationStatus {
  status: string;
  error?: string;
}

async function queryMigrate(monitor: QmpExecutor, signal: AbortSignal): Promise<MigrationStatus> {
  // While QEMU writes the stream its monitor answers late on a busy host (seen past the query
  // class's 500 ms under TCG with the CPUs shared): a slow poll must not fail the whole save,
  // whose own deadline bounds the wait.
  const reply = await monitor.execute<unknown>("query-migrate", undefined, {
    signal,
    timeoutMs: QMP_ACTION_TIMEOUT_MS,
  });
  if (!isRecord(reply)) return { status: "none" };
  return {
    status: typeof reply.status === "string" ? reply.status : "none",
    ...(typeof reply["error-desc"] === "string" ? { error: reply["error-desc"] } : {}),
  };
}

/** Polls `query-migrate` until the migration completes; rejects when it fails or is cancelled. */
async function waitForMigration(
  monitor: QmpExecutor,
  job: string,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + MIGRATION_TIMEOUT_MS;
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    const { status, error } = await queryMigrate(monitor, signal);
    if (status === "completed") return;
    if (status === "cancelled") {
      // libvirt's words for a job `domjobabort` (QMP `migrate_cancel`) ended.
      throw new VirtError(ErrorCode.OPERATION_ABORTED, `job '${job}' canceled by client`);
    }
    if (status === "failed") {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `job '${job}' failed${error === undefined ? "" : `: ${error}`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, MIGRATION_POLL_MS));
  }
  throw new VirtError(ErrorCode.OPERATION_TIMEOUT, `job '${job}' did not finish in time`);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new VirtError(ErrorCode.OPERATION_TIMEOUT, `${what} did not happen in time`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/**
 * Sends the instance's migration stream to `file` (positioned after the image's header) through
 * a socket at `socketPath`, which the service owns and QEMU (running as `owner`) may connect to.
 * The CPUs must already be stopped. Resolves once QEMU says `completed` and the stream is in the
 * file (not yet synced).
 *
 * @returns The stream's size, in bytes.
 * @throws {VirtError} OPERATION_FAILED with QEMU's reason when the migration fails.
 */
export async function saveStream(
  monitor: QmpExecutor,
  file: StreamSink,
  socketPath: string,
  owner: { uid: number; gid: number } | undefined,
  signal: AbortSignal,
  bandwidthBytesPerSecond = SAVE_BANDWIDTH_BYTES_PER_SECOND,
): Promise<number> {
  try {
    Deno.removeSync(socketPath);
  } catch {
    // Nothing left from an earlier attempt.
  }
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  try {
    if (owner !== undefined) Deno.chownSync(socketPath, owner.uid, owner.gid);
    Deno.chmodSync(socketPath, 0o600);
    await monitor.execute("migrate-set-parameters", {
      "max-bandwidth": bandwidthBytesPerSecond,
    }, { signal });
    const accepted = listener.accept();
    await monitor.execute("migrate", { uri: `unix:${socketPath}` }, { signal });
    const connection = await withTimeout(
      accepted,
      MIGRATION_CONNECT_TIMEOUT_MS,
      "QEMU's connection for the save",
    );
    const copied = copyToFile(connection, file);
    try {
      await waitForMigration(monitor, "saving", signal);
    } catch (error) {
      try {
        connection.close();
      } catch {
        // The copy closed it already (QEMU ended the stream, as on `migrate_cancel`).
      }
      await copied.catch(() => 0);
      throw error;
    }
    return await withTimeout(copied, MIGRATION_CONNECT_TIMEOUT_MS, "the end of the save stream");
  } finally {
    listener.close();
    try {
      Deno.removeSync(socketPath);
    } catch {
      // Already gone.
    }
  }
}

/** Where a save's stream goes: the image file, or a compressor's input. */
export interface StreamSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Where a restore's stream comes from: the image file, or an expander's output. */
export interface StreamSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

async function copyToFile(connection: Deno.UnixConn, file: StreamSink): Promise<number> {
  const buffer = new Uint8Array(CHUNK_BYTES);
  let total = 0;
  try {
    while (true) {
      const count = await connection.read(buffer);
      if (count === null) return total;
      let written = 0;
      while (written < count) written += await file.write(buffer.subarray(written, count));
      total += count;
    }
  } finally {
    try {
      connection.close();
    } catch {
      // Closed by the caller.
    }
  }
}

/**
 * Feeds a migration stream (an image's, from its offset, expanded if need be) to an instance started with
 * `-incoming defer`, which listens at `socketPath` after `migrate-incoming`. Resolves once QEMU
 * says `completed` (its CPUs are then stopped).
 *
 * @throws {VirtError} OPERATION_FAILED with QEMU's reason when the stream is refused (a truncated
 *   or foreign stream).
 */
export async function restoreStream(
  monitor: QmpExecutor,
  source: StreamSource,
  socketPath: string,
  signal: AbortSignal,
): Promise<void> {
  await monitor.execute("migrate-incoming", { uri: `unix:${socketPath}` }, { signal });
  const connection = await withTimeout(
    Deno.connect({ transport: "unix", path: socketPath }),
    MIGRATION_CONNECT_TIMEOUT_MS,
    "the connection to QEMU's incoming socket",
  );
  const sent = (async () => {
    const buffer = new Uint8Array(CHUNK_BYTES);
    while (true) {
      const count = await source.read(buffer);
      if (count === null) break;
      let written = 0;
      while (written < count) written += await connection.write(buffer.subarray(written, count));
    }
    await connection.closeWrite();
  })();
  try {
    await waitForMigration(monitor, "restoring", signal);
  } finally {
    await sent.catch(() => {});
    try {
      connection.close();
    } catch {
      // Already closed.
    }
  }
}
