/**
 * `screenshot` on QEMU: QMP `screendump` writes the display to a PPM file in the domain's
 * runtime folder (where QEMU may write), which is read back, bounded, and removed.
 *
 * @module
 */

import type { Screenshot } from "../../actors/driver_protocol.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import type { QmpCommands } from "./qmp_commands.ts";

/** Largest screenshot read back, in bytes (a 4K display in PPM is about 25 MiB). */
export const SCREENSHOT_MAX_BYTES = 64 * 1024 * 1024;

/** How long QEMU may take to write the screenshot, in ms. */
export const SCREENDUMP_TIMEOUT_MS = 10_000;

let counter = 0;

/**
 * Takes a screenshot of display head `screen`.
 *
 * @throws {VirtError} Code 1 when QEMU refuses (no display), 9 when the file cannot be read.
 */
export async function takeScreenshot(
  qmp: QmpCommands,
  runtime: RuntimeRecord,
  screen: number,
  signal: AbortSignal,
): Promise<Screenshot> {
  const dir = runtime.runtimeDir;
  if (typeof dir !== "string") {
    throw new VirtError(ErrorCode.OPERATION_FAILED, "the domain has no runtime folder");
  }
  const file = `${dir}/screenshot-${Deno.pid}-${++counter}.ppm`;
  try {
    await qmp.screendump(file, screen, { signal, timeoutMs: SCREENDUMP_TIMEOUT_MS });
    const size = (await Deno.stat(file)).size;
    if (size > SCREENSHOT_MAX_BYTES) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `screenshot is larger than ${SCREENSHOT_MAX_BYTES} bytes`,
      );
    }
    const data = await Deno.readFile(file);
    return { mime: "image/x-portable-pixmap", data: new Uint8Array(data) };
  } catch (error) {
    if (error instanceof VirtError) throw error;
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `cannot read the screenshot: ${(error as Error).message}`,
    );
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}
