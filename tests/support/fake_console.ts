/**
 * A serial console device the test drives (what the guest prints, what reaches it) and a session
 * sink that records what it is shown, for tests of the service's shared consoles.
 *
 * @module
 */

import {
  type ConsoleDetach,
  type ConsoleSink,
  type DeviceFile,
  SerialConsoles,
} from "../../src/host/serial_consoles.ts";

/** A device whose output the test pushes and whose input it reads. */
export class FakeDevice implements DeviceFile {
  readonly written: number[] = [];
  closed = false;
  #pending: ((bytes: Uint8Array | null) => void) | undefined;
  #queued: (Uint8Array | null)[] = [];

  /** The guest prints `text`; null ends the device (the domain stopped). */
  print(text: string | null): void {
    const bytes = text === null ? null : new TextEncoder().encode(text);
    if (this.#pending !== undefined) {
      const resolve = this.#pending;
      this.#pending = undefined;
      resolve(bytes);
    } else this.#queued.push(bytes);
  }

  read(buffer: Uint8Array): Promise<number | null> {
    const take = (bytes: Uint8Array | null) => {
      if (bytes === null) return null;
      buffer.set(bytes);
      return bytes.length;
    };
    if (this.#queued.length > 0) return Promise.resolve(take(this.#queued.shift()!));
    return new Promise((resolve) => this.#pending = (bytes) => resolve(take(bytes)));
  }

  write(bytes: Uint8Array): Promise<number> {
    this.written.push(...bytes);
    return Promise.resolve(bytes.length);
  }

  close(): void {
    this.closed = true;
    this.#pending?.(null);
  }
}

/** A session that records the output it is shown and why it ended. */
export class Screen implements ConsoleSink {
  text = "";
  ended: ConsoleDetach | undefined;
  output(bytes: Uint8Array): void {
    this.text += new TextDecoder().decode(bytes);
  }
  end(why: ConsoleDetach): void {
    this.ended = why;
  }
}

/** Consoles over one fake device, and the shutdown that ends them. */
export function consoleRig() {
  const device = new FakeDevice();
  const opened: string[] = [];
  const shutdown = new AbortController();
  const consoles = new SerialConsoles(shutdown.signal, (path) => {
    opened.push(path);
    return Promise.resolve(device);
  });
  return { device, opened, shutdown, consoles };
}
