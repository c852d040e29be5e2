/**
 * Save images written and read past the page cache (`--bypass-cache`): Deno opens no file with
 * O_DIRECT, so, as libvirt hands the file to its `libvirt_iohelper`, a helper process does the
 * file's I/O with O_DIRECT and aligned buffers: coreutils' `dd` (`oflag=direct` / `iflag=direct`,
 * whole 1 MiB blocks; it drops O_DIRECT for a short last block itself), with the service on the
 * other end of its pipe.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { StreamSink, StreamSource } from "./qmp_migration.ts";

/** The helper's block, in bytes: a multiple of every device's logical block size. */
const DIRECT_BLOCK_BYTES = 1024 * 1024;
/** Longest the helper may take to finish once its input ended, in ms. */
const HELPER_EXIT_TIMEOUT_MS = 60_000;

/** A file written through the O_DIRECT helper. */
export interface DirectWriter extends StreamSink {
  /** Ends the input and waits for the helper to have written (and synced) everything. */
  close(): Promise<void>;
  /** Stops the helper (the file is left as it is, for the caller to remove). */
  abort(): Promise<void>;
}

/** A file read through the O_DIRECT helper. */
export interface DirectReader extends StreamSource {
  /** Stops the helper if it still runs, and reports its failure if it failed. */
  close(): Promise<void>;
}

function spawnHelper(args: string[], input: boolean): Deno.ChildProcess {
  try {
    return new Deno.Command("dd", {
      args: [...args, `bs=${DIRECT_BLOCK_BYTES}`, "status=none"],
      stdin: input ? "piped" : "null",
      stdout: input ? "null" : "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new VirtError(ErrorCode.OPERATION_FAILED, "bypass cache unsupported by this system", {
      cause: error,
    });
  }
}

async function helperOutcome(
  child: Deno.ChildProcess,
  stderr: Promise<string>,
  path: string,
  what: string,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Ended meanwhile.
      }
      reject(new VirtError(ErrorCode.OPERATION_TIMEOUT, `${what} '${path}' did not end in time`));
    }, HELPER_EXIT_TIMEOUT_MS);
  });
  const status = await Promise.race([child.status, expiry]).finally(() => clearTimeout(timer));
  if (!status.success) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `${what} '${path}' failed: ${(await stderr).trim() || `exit ${status.code}`}`,
    );
  }
}

/**
 * Writes `path` (which must exist; it is not truncated) from its start with O_DIRECT, then
 * syncs it.
 *
 * @throws {VirtError} 9 when `dd` is missing; 38 when a write fails (the helper's words).
 */
export function openDirectWriter(path: string): DirectWriter {
  const child = spawnHelper(
    [`of=${path}`, "oflag=direct", "iflag=fullblock", "conv=notrunc,fsync"],
    true,
  );
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  return {
    async write(bytes) {
      try {
        // The caller reuses its buffer for the next chunk: the helper's pipe gets a copy.
        await writer.write(bytes.slice());
      } catch (error) {
        await helperOutcome(child, stderr, path, "direct write of");
        throw error;
      }
      return bytes.length;
    },
    async close() {
      await writer.close();
      await helperOutcome(child, stderr, path, "direct write of");
    },
    async abort() {
      await writer.abort().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // Ended already.
      }
      await child.status;
      await stderr.catch(() => "");
    },
  };
}

/**
 * Reads `path` with O_DIRECT from its start (aligned, as O_DIRECT wants), answering its bytes
 * from `offset` on.
 *
 * @throws {VirtError} 9 when `dd` is missing; 38 when a read fails (on close).
 */
export function openDirectReader(path: string, offset: number): DirectReader {
  const child = spawnHelper([`if=${path}`, "iflag=direct"], false);
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let skip = offset;
  let pending: Uint8Array = new Uint8Array(0);
  let ended = false;
  return {
    async read(buffer) {
      while (pending.length === 0) {
        const next = await reader.read();
        if (next.done) {
          ended = true;
          return null;
        }
        const dropped = Math.min(skip, next.value.length);
        skip -= dropped;
        pending = next.value.subarray(dropped);
      }
      const count = Math.min(buffer.length, pending.length);
      buffer.set(pending.subarray(0, count));
      pending = pending.subarray(count);
      return count;
    },
    async close() {
      if (!ended) {
        await reader.cancel().catch(() => {});
        try {
          child.kill("SIGKILL");
        } catch {
          // Ended already.
        }
        await child.status;
        await stderr.catch(() => "");
        return;
      }
      await helperOutcome(child, stderr, path, "direct read of");
    },
  };
}
