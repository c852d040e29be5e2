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
import { compressionCommand } from "../../src/storage/save_compression.ts";
import type { SaveRequest } from "../../actors/driver_protocol.ts";
import type { QmpExecutor } from "./qmp_commands.ts";
import { openDirectReader, openDirectWriter } from "./direct_io.ts";
import type { StreamCounter } from "./migration_jobs.ts";
import {
  restoreStream,
  SAVE_BANDWIDTH_BYTES_PER_SECOND,
  saveStream,
  type StreamSink,
  type StreamSource,
} from "./qmp_migration.ts";

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
  options: { compressed?: number; bandwidthBytesPerSecond?: number } = {},
): Promise<void> {
  const compressed = options.compressed ?? 0;
  const bandwidth = options.bandwidthBytesPerSecond ?? SAVE_BANDWIDTH_BYTES_PER_SECOND;
  const compressor = compressionCommand(compressed, false);
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
  // `--bypass-cache`: the header and stream go through the O_DIRECT helper (`direct_io.ts`);
  // the complete magic, one small write at the end, through the file as usual (as libvirt).
  const direct = request.bypassCache === true ? openDirectWriter(request.path) : undefined;
  const sink: StreamSink = direct ?? file;
  try {
    const header = encodeSaveHeader({ ...request, compressed }, false);
    await writeAll(sink, header, request.path);
    const dir = Deno.statSync(runtimeDir);
    const owner = dir.uid === null || dir.gid === null ? undefined : { uid: dir.uid, gid: dir.gid };
    const socket = saveSocketPath(runtimeDir);
    if (compressor === undefined) {
      await saveStream(monitor, sink, socket, owner, signal, bandwidth);
    } else {
      await throughProgram(
        compressor,
        (programSink) => saveStream(monitor, programSink, socket, owner, signal, bandwidth),
        sink,
        request.path,
      );
    }
    if (direct !== undefined) await direct.close();
    await file.sync();
    // Only now is the image complete: the magic says so, synced before the caller records it.
    await file.seek(0, Deno.SeekMode.Start);
    await writeAll(file, completeMagic(), request.path);
    await file.sync();
    file.close();
    closed = true;
  } catch (error) {
    await direct?.abort();
    if (!closed) file.close();
    try {
      Deno.removeSync(request.path);
    } catch {
      // Gone already.
    }
    throw error;
  }
}

async function writeAll(file: StreamSink, bytes: Uint8Array, path: string): Promise<void> {
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
  image: { path: string; offset: number; compressed?: number; bypassCache?: boolean },
  signal: AbortSignal,
  counter: StreamCounter = { sentBytes: 0, totalBytes: 0 },
): Promise<void> {
  const expander = compressionCommand(image.compressed ?? 0, true);
  const opened = await Deno.open(image.path, { read: true });
  // `--bypass-cache`: the stream is read through the O_DIRECT helper (`direct_io.ts`).
  const direct = image.bypassCache === true
    ? openDirectReader(image.path, image.offset)
    : undefined;
  const file: StreamSource = direct ?? opened;
  try {
    counter.totalBytes = Math.max(0, (await opened.stat()).size - image.offset);
    if (direct === undefined) await opened.seek(image.offset, Deno.SeekMode.Start);
    // What is read from the image is what the restore's progress counts.
    const counted: StreamSource = {
      async read(buffer) {
        const count = await file.read(buffer);
        if (count !== null) counter.sentBytes += count;
        return count;
      },
    };
    const socket = incomingSocketPath(runtimeDir);
    if (expander === undefined) {
      await restoreStream(monitor, counted, socket, signal);
    } else {
      await fromProgram(
        expander,
        counted,
        (source) => restoreStream(monitor, source, socket, signal),
      );
    }
  } catch (error) {
    if (error instanceof VirtError && error.code !== ErrorCode.INTERNAL_ERROR) throw error;
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `job 'restoring' failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await direct?.close().catch(() => {});
    opened.close();
  }
}

/** Starts the compression program `command`, or refuses with libvirt's words when it is absent. */
function spawnProgram(command: string[]): Deno.ChildProcess {
  try {
    return new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `Compression program for image format '${command[0]}' not found`,
      { cause: error },
    );
  }
}

async function programOutcome(child: Deno.ChildProcess, stderr: Promise<string>, name: string) {
  const status = await child.status;
  if (!status.success) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `compression program '${name}' failed (exit ${status.code}): ${(await stderr).trim()}`,
    );
  }
}

/**
 * A save's stream through the compressor `command` into `file`: `run` writes the stream into the
 * program's input; its output is appended to the file.
 */
async function throughProgram(
  command: string[],
  run: (sink: StreamSink) => Promise<unknown>,
  file: StreamSink,
  path: string,
): Promise<void> {
  const child = spawnProgram(command);
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const drained = (async () => {
    for await (const chunk of child.stdout) await writeAll(file, chunk, path);
  })();
  try {
    await run({
      async write(bytes) {
        // The stream's buffer is reused for the next chunk: the program gets a copy.
        await writer.write(bytes.slice());
        return bytes.length;
      },
    });
    await writer.close();
    await drained;
  } catch (error) {
    await writer.abort().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // Ended already.
    }
    await drained.catch(() => {});
    await child.status;
    throw error;
  }
  await programOutcome(child, stderr, command[0]);
}

/** A restore's stream from `file` through the expander `command`, read by `run`. */
async function fromProgram(
  command: string[],
  file: StreamSource,
  run: (source: StreamSource) => Promise<void>,
): Promise<void> {
  const child = spawnProgram(command);
  const stderr = new Response(child.stderr).text();
  const fed = (async () => {
    const writer = child.stdin.getWriter();
    try {
      const buffer = new Uint8Array(EXPAND_CHUNK_BYTES);
      while (true) {
        const count = await file.read(buffer);
        if (count === null) break;
        await writer.write(buffer.slice(0, count));
      }
      await writer.close();
    } catch {
      await writer.abort().catch(() => {});
    }
  })();
  const reader = child.stdout.getReader();
  let pending: Uint8Array | undefined;
  try {
    await run({
      async read(buffer) {
        if (pending === undefined || pending.length === 0) {
          const next = await reader.read();
          if (next.done) return null;
          pending = next.value;
        }
        const count = Math.min(buffer.length, pending.length);
        buffer.set(pending.subarray(0, count));
        pending = pending.subarray(count);
        return count;
      },
    });
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Ended already.
    }
    await reader.cancel().catch(() => {});
    await fed;
    await child.status;
    throw error;
  }
  await reader.cancel().catch(() => {});
  await fed;
  await programOutcome(child, stderr, command[0]);
}

/** Chunk read from an image into an expander, in bytes. */
const EXPAND_CHUNK_BYTES = 1024 * 1024;
