/**
 * The service's serial console sessions: one reader per domain character device (a pty) whose
 * output goes to every attached viewer, and at most one writer, as libvirt's `virChrdevOpen`
 * allows one console stream per device: a second writer is refused with code 9 ("Active console
 * session exists for this domain") unless it forces, which ends the first (`virsh console
 * --force`). Read-only viewers see the output and never write.
 *
 * A device stays open from its first attachment until its pty ends (the domain stopped: the
 * read answers EIO or end of file) or the service shuts down: reopening a pty would leave the
 * cancelled read of the previous opening to swallow the next chunk of output.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** Bytes read from a pty at once. */
export const CONSOLE_CHUNK_BYTES = 4096;
/** Devices open at once (one per running domain's console someone opened). */
export const CONSOLE_DEVICES_MAX = 1024;
/** Viewers of one device at once. */
export const CONSOLE_VIEWERS_MAX = 16;

/** How an attachment ended. */
export type ConsoleDetach =
  | "replaced" // another writer forced its way in
  | "ended" // the pty ended (the domain stopped)
  | "detached" // the attachment let go itself
  | "shutdown"; // the service is stopping

/** What an attachment is told. */
export interface ConsoleSink {
  /** A chunk of the device's output; the sink bounds what it queues itself. */
  output(bytes: Uint8Array): void;
  /** The attachment ended for `why` (not called when it let go itself). */
  end(why: ConsoleDetach): void;
}

/** One attachment to a device. */
export interface ConsoleAttachment {
  /** Whether it may write. */
  readonly writer: boolean;
  /** Writes to the device; refused (code 29) for a viewer, ignored once detached. */
  write(bytes: Uint8Array): Promise<void>;
  /** Lets go of the device (a writer frees its place). */
  detach(): void;
}

/** What opens a device: a pty path read and written as a file. */
export type DeviceOpener = (path: string) => Promise<DeviceFile>;

/** The file side of a device. */
export interface DeviceFile {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

interface Attached {
  sink: ConsoleSink;
  writer: boolean;
}

interface Device {
  key: string;
  file: DeviceFile;
  attached: Set<Attached>;
  writer: Attached | undefined;
  /** Writes run one after another. */
  writing: Promise<void>;
  closed: boolean;
}

/**
 * The serial consoles of one service.
 *
 * @example
 * ```ts ignore
 * const consoles = new SerialConsoles(shutdownSignal);
 * const session = await consoles.attach(uuid, "/dev/pts/3", { writer: true, force: false }, {
 *   output: (bytes) => socket.sendBytes(bytes),
 *   end: (why) => socket.close(4000, why),
 * });
 * await session.write(new TextEncoder().encode("ls\r"));
 * ```
 */
export class SerialConsoles {
  readonly #devices = new Map<string, Device>();
  readonly #open: DeviceOpener;

  /**
   * @param signal Ends every attachment and closes every device when aborted.
   * @param open Opens a device (default: the pty as a file, read and written).
   */
  constructor(signal: AbortSignal, open: DeviceOpener = openPty) {
    this.#open = open;
    signal.addEventListener("abort", () => {
      for (const device of [...this.#devices.values()]) this.#end(device, "shutdown");
    }, { once: true });
  }

  /** How many devices are open. */
  get size(): number {
    return this.#devices.size;
  }

  /**
   * Attaches to a domain's device.
   *
   * @param domain The domain's UUID (with the path, it names the device: ptys are reused).
   * @param path The device's pty.
   * @param mode A writer or a viewer; `force` ends another writer instead of being refused.
   * @param sink Where the output and the end go.
   * @throws {VirtError} Code 9 when another writer holds the device and `force` is not set, or
   *   the pty cannot be opened; code 87 when too many devices or viewers are open.
   */
  async attach(
    domain: string,
    path: string,
    mode: { writer: boolean; force: boolean },
    sink: ConsoleSink,
  ): Promise<ConsoleAttachment> {
    const key = `${domain}\n${path}`;
    let device = this.#devices.get(key);
    if (device === undefined) {
      if (this.#devices.size >= CONSOLE_DEVICES_MAX) {
        throw new VirtError(
          ErrorCode.RESOURCE_BUSY,
          `the service already holds ${CONSOLE_DEVICES_MAX} consoles open`,
        );
      }
      let file: DeviceFile;
      try {
        file = await this.#open(path);
      } catch (error) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `cannot open console '${path}': ${(error as Error).message}`,
        );
      }
      // Another attach may have opened it meanwhile.
      const raced = this.#devices.get(key);
      if (raced !== undefined) {
        file.close();
        device = raced;
      } else {
        device = {
          key,
          file,
          attached: new Set(),
          writer: undefined,
          writing: Promise.resolve(),
          closed: false,
        };
        this.#devices.set(key, device);
        this.#readLoop(device);
      }
    }
    if (device.attached.size >= CONSOLE_VIEWERS_MAX) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `console '${path}' already has ${CONSOLE_VIEWERS_MAX} sessions`,
      );
    }
    if (mode.writer && device.writer !== undefined) {
      if (!mode.force) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          "Active console session exists for this domain",
        );
      }
      const previous = device.writer;
      device.attached.delete(previous);
      device.writer = undefined;
      previous.sink.end("replaced");
    }
    const attached: Attached = { sink, writer: mode.writer };
    device.attached.add(attached);
    if (mode.writer) device.writer = attached;
    const held = device;
    return {
      writer: mode.writer,
      write: (bytes) => {
        if (!attached.writer) {
          return Promise.reject(
            new VirtError(
              ErrorCode.OPERATION_DENIED,
              "read only access prevents virDomainOpenConsole",
            ),
          );
        }
        if (held.writer !== attached || held.closed) return Promise.resolve();
        const copy = bytes.slice();
        held.writing = held.writing.then(async () => {
          let offset = 0;
          while (offset < copy.length && !held.closed) {
            offset += await held.file.write(copy.subarray(offset));
          }
        }).catch(() => this.#end(held, "ended"));
        return held.writing;
      },
      detach: () => {
        held.attached.delete(attached);
        if (held.writer === attached) held.writer = undefined;
      },
    };
  }

  async #readLoop(device: Device): Promise<void> {
    const buffer = new Uint8Array(CONSOLE_CHUNK_BYTES);
    try {
      for (;;) {
        const count = await device.file.read(buffer);
        if (count === null || device.closed) break;
        const chunk = buffer.slice(0, count);
        for (const attached of device.attached) attached.sink.output(chunk);
      }
    } catch {
      // EIO once QEMU closed its side, or the read was cut by close(): the device ended.
    }
    this.#end(device, "ended");
  }

  #end(device: Device, why: ConsoleDetach): void {
    if (device.closed) return;
    device.closed = true;
    this.#devices.delete(device.key);
    try {
      device.file.close();
    } catch {
      // already closed
    }
    const attached = [...device.attached];
    device.attached.clear();
    device.writer = undefined;
    for (const entry of attached) entry.sink.end(why);
  }
}

/**
 * A pty opened twice, once to read and once to write: Deno runs the operations on one file
 * handle one after another, so a write would wait behind the read that waits for output.
 */
async function openPty(path: string): Promise<DeviceFile> {
  const reading = await Deno.open(path, { read: true });
  let writing: Deno.FsFile;
  try {
    writing = await Deno.open(path, { write: true });
  } catch (error) {
    reading.close();
    throw error;
  }
  return {
    read: (buffer) => reading.read(buffer),
    write: (bytes) => writing.write(bytes),
    close() {
      for (const file of [reading, writing]) {
        try {
          file.close();
        } catch {
          // already closed
        }
      }
    },
  };
}
