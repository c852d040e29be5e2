/**
 * Save and restore of a QEMU instance into libvirt's save-image layout
 * (`src/storage/save_image.ts`): the header with the partial magic, the migration stream
 * (`qmp_migration.ts`), then the complete magic once the stream is synced, so a crash at any
 * instant leaves either a complete image or one marked partial (which a restore refuses and
 * recovery removes).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { completeMagic, encodeSaveHeader, systemReason } from "../../src/storage/save_image.ts";
import type { SaveRequest } from "../../actors/driver_protocol.ts";
import type { QmpExecutor } from "./qmp_commands.ts";
import { restoreStream, saveStream } from "./qmp_migration.ts";

/** The socket a save's stream arrives on, in the instance's folder. */
export function saveSocketPath(runtimeDir: string): string {
  return `${runtimeDir}/save.sock`;
}

/** The socket QEMU listens on for a restore's stream, in the instance's folder. */
export function incomingSocketPath(runtimeDir: string): string {
  return `${runtimeDir}/incoming.sock`;
}

/**
 * Writes the image of a stopped instance; removes the file when anything fails.
 *
 * @throws {VirtError} 38 when the file cannot be created or written; what the stream throws.
 *
 * @example
 * ```ts ignore
 * await writeSaveImage(monitor, "/run/evirt/qemu/1-web", { path, xml, wasRunning: true }, signal);
 * ```
 */
export async function writeSaveImage(
  monitor: QmpExecutor,
  runtimeDir: string,
  request: SaveRequest,
  signal: AbortSignal,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(request.path, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `Failed to create file '${request.path}': ${systemReason(error)}`,
      { cause: error },
    );
  }
  let closed = false;
  try {
    const header = encodeSaveHeader(request, false);
    await writeAll(file, header, request.path);
    const dir = Deno.statSync(runtimeDir);
    const owner = dir.uid === null || dir.gid === null ? undefined : { uid: dir.uid, gid: dir.gid };
    await saveStream(monitor, file, saveSocketPath(runtimeDir), owner, signal);
    await file.sync();
    // Only now is the image complete: the magic says so, synced before the caller records it.
    await file.seek(0, Deno.SeekMode.Start);
    await writeAll(file, completeMagic(), request.path);
    await file.sync();
    file.close();
    closed = true;
  } catch (error) {
    if (!closed) file.close();
    try {
      Deno.removeSync(request.path);
    } catch {
      // Gone already.
    }
    throw error;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array, path: string): Promise<void> {
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `failed to write header to domain save file '${path}': ${systemReason(error)}`,
      { cause: error },
    );
  }
}

/**
 * Feeds an image's stream to an instance started with `-incoming defer`.
 *
 * @throws {VirtError} 9 when QEMU refuses the stream or goes away meanwhile.
 */
export async function readSaveImage(
  monitor: QmpExecutor,
  runtimeDir: string,
  image: { path: string; offset: number },
  signal: AbortSignal,
): Promise<void> {
  try {
    await restoreStream(monitor, image.path, image.offset, incomingSocketPath(runtimeDir), signal);
  } catch (error) {
    if (error instanceof VirtError && error.code !== ErrorCode.INTERNAL_ERROR) throw error;
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `job 'restoring' failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
