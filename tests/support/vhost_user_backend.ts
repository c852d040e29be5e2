/**
 * The least vhost-user back end a QEMU `vhost-user` netdev starts with, for tests that run a
 * definition with a `vhostuser` interface where no switch (DPDK, Open vSwitch) is installed: it
 * answers the front end's queries (features: VIRTIO 1 and protocol features; protocol
 * features: multiqueue; the queue count; a ring's base) and takes every other message without
 * a reply. It moves no packets: the guest's link is up but nothing answers on it. File
 * descriptors QEMU passes along (ring kick/call) are dropped by the kernel, as the back end
 * does not receive them.
 *
 * @module
 */

/** vhost-user message header: request, flags, payload size (each a little-endian u32). */
const HEADER_BYTES = 12;
/** Largest payload this back end reads (the memory table of 8 regions is the largest). */
const PAYLOAD_MAX_BYTES = 4096;

const GET_FEATURES = 1;
const GET_VRING_BASE = 11;
const GET_PROTOCOL_FEATURES = 15;
const GET_QUEUE_NUM = 17;

/** Version 1, and the reply bit. */
const REPLY_FLAGS = 0x1 | 0x4;

/** VIRTIO_F_VERSION_1 and VHOST_USER_F_PROTOCOL_FEATURES. */
const FEATURES = (1n << 32n) | (1n << 30n);
/** VHOST_USER_PROTOCOL_F_MQ. */
const PROTOCOL_FEATURES = 1n;
/** Queue pairs offered. */
const QUEUES = 16n;

/** Serves one front end's connection until it closes. */
async function serve(connection: Deno.Conn): Promise<void> {
  const header = new Uint8Array(HEADER_BYTES);
  try {
    while (await readFully(connection, header)) {
      const view = new DataView(header.buffer);
      const request = view.getUint32(0, true);
      const size = view.getUint32(8, true);
      if (size > PAYLOAD_MAX_BYTES) return;
      const payload = new Uint8Array(size);
      if (size > 0 && !await readFully(connection, payload)) return;
      const reply = replyTo(request, payload);
      if (reply === undefined) continue;
      const message = new Uint8Array(HEADER_BYTES + reply.length);
      const out = new DataView(message.buffer);
      out.setUint32(0, request, true);
      out.setUint32(4, REPLY_FLAGS, true);
      out.setUint32(8, reply.length, true);
      message.set(reply, HEADER_BYTES);
      await writeFully(connection, message);
    }
  } catch {
    // The front end went away.
  } finally {
    try {
      connection.close();
    } catch {
      // Already closed.
    }
  }
}

function replyTo(request: number, payload: Uint8Array): Uint8Array | undefined {
  const u64 = (value: bigint) => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    return bytes;
  };
  switch (request) {
    case GET_FEATURES:
      return u64(FEATURES);
    case GET_PROTOCOL_FEATURES:
      return u64(PROTOCOL_FEATURES);
    case GET_QUEUE_NUM:
      return u64(QUEUES);
    case GET_VRING_BASE: {
      // The ring's index, and its base: 0.
      const state = new Uint8Array(8);
      state.set(payload.subarray(0, 4));
      return state;
    }
    default:
      return undefined;
  }
}

async function readFully(connection: Deno.Conn, into: Uint8Array): Promise<boolean> {
  let filled = 0;
  while (filled < into.length) {
    const count = await connection.read(into.subarray(filled));
    if (count === null) return false;
    filled += count;
  }
  return true;
}

async function writeFully(connection: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await connection.write(data.subarray(written));
}

/** A back end on one socket: listening for QEMU, or connecting to QEMU's. */
export interface VhostUserBackend {
  /** Stops listening or connecting and closes every connection. */
  close(): void;
}

/**
 * A back end listening on `path` (an interface of mode `client`: QEMU connects).
 *
 * @example
 * ```ts ignore
 * const backend = listenVhostUser("/tmp/case/vhost0.sock");
 * // … start QEMU …
 * backend.close();
 * ```
 */
export function listenVhostUser(path: string): VhostUserBackend {
  const listener = Deno.listen({ transport: "unix", path });
  const connections: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const connection of listener) {
        connections.push(connection);
        serve(connection);
      }
    } catch {
      // Closed.
    }
  })();
  return {
    close() {
      listener.close();
      for (const connection of connections) {
        try {
          connection.close();
        } catch {
          // Already closed.
        }
      }
    },
  };
}

/** Time between two tries to reach QEMU's socket, in ms. */
const CONNECT_RETRY_MS = 50;

/**
 * A back end connecting to QEMU's socket at `path` once it exists (an interface of mode
 * `server`: QEMU listens and waits), trying until `signal` aborts or it is closed.
 */
export function connectVhostUser(path: string, signal: AbortSignal): VhostUserBackend {
  let closed = false;
  let connection: Deno.Conn | undefined;
  (async () => {
    while (!closed && !signal.aborted) {
      try {
        connection = await Deno.connect({ transport: "unix", path });
        await serve(connection);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
      }
    }
  })();
  return {
    close() {
      closed = true;
      try {
        connection?.close();
      } catch {
        // Already closed.
      }
    },
  };
}
