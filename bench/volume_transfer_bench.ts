/**
 * `vol-upload` / `vol-download` of a 2 GiB sparse image, beside `cp --sparse=always` of the same
 * file measured in the same run (the physical limit here; goal: evirt at 80 % of its throughput)
 * and, where the system libvirtd answers, `virsh` against libvirtd on a pool of its own.
 *
 * As a script (`deno run -A bench/volume_transfer_bench.ts`) it prints, for each, the median
 * wall time of `EVIRT_BENCH_TRANSFER_RUNS` runs (3), the throughput over the image's length, and
 * its share of the `cp` figure, and for evirt's rows the CPU time the service spent (user +
 * system, from /proc; steadier than wall time on a busy machine). The image
 * (`EVIRT_BENCH_TRANSFER_MIB`, 2048 MiB) holds one MiB of random data every 16 MiB; the rest is
 * holes. Every transfer is sparse: holes are found in the
 * file's hole map (`SEEK_DATA`/`SEEK_HOLE`), never read, and cross the connection as hole
 * records (evirt's API) or hole messages (libvirt's protocol). Rows:
 * - `evirt` CLI over evirt's API, and `virsh` over evirt's libvirt socket: whole processes, start
 *   included, the volume's data made durable (fsync) before the upload is answered;
 * - the typed client in this process (no process start): the transfer itself;
 * - `virsh` against libvirtd on the same image (same process start), where it answers;
 * - a floor for any transfer between two processes: the image's data runs sent over a Unix
 *   socket to a process already started (this script, `--receive`), which writes them at their
 *   offsets and syncs, with no API, no job, no process start. `cp` copies page-cache data inside
 *   the kernel with no socket and no sync, so the goal (80 % of `cp`) is measured against a
 *   figure no transfer over a connection reaches; this row says how far off the floor is.
 *
 * The service CPU is split into user and system time: the system part holds the page cache
 * writes and the final `fdatasync` an upload must make before it answers.
 *
 * @module
 */

import { parsePositiveInteger } from "../src/config/config.ts";
import { StorageClient } from "../src/client/storage_client.ts";
import { readVolumeRange } from "../src/storage/volume_transfer.ts";
import { runEvirt } from "../tests/support/cli_process.ts";
import { exists } from "../tests/support/environment.ts";
import { LIBVIRTD_SOCKET, LIBVIRTD_URI } from "../tests/support/libvirtd.ts";
import { runVirsh, socketUri } from "../tests/support/virsh.ts";
import {
  removeServiceDirs,
  serviceDirs,
  startServiceProcess,
} from "../tests/support/service_process.ts";
import { median } from "./_figures.ts";

const ENV = Deno.env.toObject();
const RUNS = parsePositiveInteger(ENV, "EVIRT_BENCH_TRANSFER_RUNS", 3);
const MIB = parsePositiveInteger(ENV, "EVIRT_BENCH_TRANSFER_MIB", 2048);
const BYTES = MIB * 1024 * 1024;

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

async function makeImage(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const block = new Uint8Array(1024 * 1024);
    for (let at = 0; at < BYTES; at += 16 * 1024 * 1024) {
      crypto.getRandomValues(block.subarray(0, 65536));
      for (let part = 65536; part < block.length; part += 65536) {
        block.copyWithin(part, 0, 65536);
      }
      await file.seek(at, Deno.SeekMode.Start);
      await file.write(block);
    }
    await file.truncate(BYTES);
  } finally {
    file.close();
  }
}

async function ok(args: string[], env: Record<string, string>): Promise<void> {
  const run = await runEvirt(args, env);
  if (run.code !== 0) {
    throw new Error(`evirt ${args.join(" ")}: exit ${run.code}: ${run.stderr}${run.stdout}`);
  }
}

async function virsh(uri: string, args: string[]): Promise<void> {
  const run = await runVirsh(uri, args);
  if (run.code !== 0) throw new Error(`virsh ${args.join(" ")}: ${run.stderr}`);
}

async function command(program: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(program, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/**
 * CPU time (user + system) a process has used, in ms, from /proc: a figure that, unlike the
 * wall time, does not grow with what else the machine runs.
 */
function processCpuMs(pid: number): { user: number; system: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100;
  return {
    user: Number(fields[11]) * 1000 / ticksPerSecond,
    system: Number(fields[12]) * 1000 / ticksPerSecond,
  };
}

/** A floor run's frame head: the data's offset and length (0: the end, offset the size). */
const FRAME_HEAD_BYTES = 16;

/**
 * The floor's receiver (`--receive SOCKET FILE`): for each connection, writes the data frames
 * at their offsets into FILE, cuts it to the size the end frame names, syncs, answers one byte.
 */
async function receive(socket: string, path: string): Promise<void> {
  const listener = Deno.listen({ transport: "unix", path: socket });
  for await (const conn of listener) {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const buffer = new Uint8Array(1024 * 1024);
    const head = new Uint8Array(FRAME_HEAD_BYTES);
    const exactly = async (into: Uint8Array) => {
      for (let at = 0; at < into.length;) {
        const count = await conn.read(into.subarray(at));
        if (count === null) throw new Error("the sender went away");
        at += count;
      }
    };
    for (;;) {
      await exactly(head);
      const view = new DataView(head.buffer);
      const offset = Number(view.getBigUint64(0));
      let left = Number(view.getBigUint64(8));
      if (left === 0) {
        await file.truncate(offset);
        break;
      }
      await file.seek(offset, Deno.SeekMode.Start);
      while (left > 0) {
        const count = await conn.read(buffer.subarray(0, Math.min(left, buffer.length)));
        if (count === null) throw new Error("the sender went away");
        for (let rest = buffer.subarray(0, count); rest.length > 0;) {
          rest = rest.subarray(await file.write(rest));
        }
        left -= count;
      }
    }
    await file.syncData();
    file.close();
    await conn.write(new Uint8Array(1));
    conn.close();
  }
}

/** Sends the image's data runs to the floor's receiver and waits for its answer. */
async function sendToFloor(socket: string, image: string): Promise<void> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    const head = new Uint8Array(FRAME_HEAD_BYTES);
    const view = new DataView(head.buffer);
    const writeAll = async (bytes: Uint8Array) => {
      for (let rest = bytes; rest.length > 0;) rest = rest.subarray(await conn.write(rest));
    };
    let at = 0;
    const { stream } = await readVolumeRange(image, { offset: 0, length: 0 }, () => {}, {
      holes: true,
      reuseBuffer: true,
    });
    for await (const piece of stream) {
      if (typeof piece === "number") {
        at += piece;
        continue;
      }
      view.setBigUint64(0, BigInt(at));
      view.setBigUint64(8, BigInt(piece.length));
      await writeAll(head);
      await writeAll(piece);
      at += piece.length;
    }
    view.setBigUint64(0, BigInt(at));
    view.setBigUint64(8, 0n);
    await writeAll(head);
    if (await conn.read(new Uint8Array(1)) !== 1) throw new Error("the receiver did not answer");
  } finally {
    conn.close();
  }
}

function line(what: string, seconds: number[], baseline?: number): string {
  const wall = median(seconds);
  const rate = BYTES / 1024 ** 2 / wall;
  const share = baseline === undefined ? "" : `, ${(100 * baseline / wall).toFixed(0)} % of cp`;
  return `${what.padEnd(40)} median ${wall.toFixed(2)} s, ${rate.toFixed(0)} MiB/s${share}`;
}

if (import.meta.main && Deno.args[0] === "--receive") {
  await receive(Deno.args[1], Deno.args[2]);
} else if (import.meta.main) {
  const dirs = await serviceDirs();
  const base = dirs.stateDir.replace(/\/state$/, "");
  const service = await startServiceProcess(dirs);
  const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
  try {
    const image = `${base}/image.raw`;
    await makeImage(image);
    const poolXml = `${base}/pool.xml`;
    await Deno.writeTextFile(
      poolXml,
      `<pool type='dir'><name>bench</name><target><path>${base}/pool</path></target></pool>`,
    );
    await ok(["pool-create", poolXml, "--build"], env);
    // Sparse (allocation 0): a fully allocated 2 GiB file is not what is measured, and writing
    // it can outlast the CLI's timeout on a busy machine.
    await ok(["vol-create-as", "bench", "v.raw", `${BYTES}`, "--allocation", "0"], env);
    await ok(["vol-create-as", "bench", "r.raw", `${BYTES}`, "--allocation", "0"], env);
    const evirtRpc = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const storage = new StorageClient(service.client);
    const libvirtd = exists(LIBVIRTD_SOCKET)
      ? `evirt-bench-t-${crypto.randomUUID().slice(0, 8)}`
      : "";
    if (libvirtd !== "") {
      await Deno.mkdir(`${base}/libvirtd`);
      await Deno.chmod(base, 0o755);
      await virsh(LIBVIRTD_URI, [
        "pool-create-as",
        libvirtd,
        "dir",
        "--target",
        `${base}/libvirtd`,
      ]);
      await virsh(LIBVIRTD_URI, [
        "vol-create-as",
        libvirtd,
        "v.raw",
        `${BYTES}`,
        "--allocation",
        "0",
      ]);
    }
    const figures = new Map<string, number[]>();
    const serviceCpu = new Map<string, { user: number; system: number }[]>();
    const floorSocket = `${base}/floor.sock`;
    const receiver = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--receive",
        floorSocket,
        `${base}/floor.raw`,
      ],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    for (let tries = 0; !exists(floorSocket); tries++) {
      if (tries === 300) throw new Error("the floor's receiver did not start in 30 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const measure = async (what: string, run: () => Promise<void>, check?: string) => {
      const cpuBefore = processCpuMs(service.child.pid);
      const seconds = await timed(run);
      figures.set(what, [...figures.get(what) ?? [], seconds]);
      if (!what.includes("libvirtd") && !what.startsWith("cp ") && !what.startsWith("floor")) {
        const after = processCpuMs(service.child.pid);
        serviceCpu.set(what, [...serviceCpu.get(what) ?? [], {
          user: after.user - cpuBefore.user,
          system: after.system - cpuBefore.system,
        }]);
      }
      if (check !== undefined) {
        await command("cmp", [image, check]);
        await Deno.remove(check);
      }
    };
    try {
      for (let run = 0; run < RUNS; run++) {
        await measure(
          "cp --sparse=always",
          () => command("cp", ["--sparse=always", image, `${base}/copy.raw`]),
          `${base}/copy.raw`,
        );
        await measure(
          "floor: Unix socket to a process, synced",
          () => sendToFloor(floorSocket, image),
          `${base}/floor.raw`,
        );
        await measure(
          "evirt vol-upload --sparse",
          () => ok(["vol-upload", "--pool", "bench", "v.raw", image, "--sparse"], env),
        );
        await measure(
          "evirt vol-download --sparse",
          () =>
            ok(["vol-download", "--pool", "bench", "v.raw", `${base}/down.raw`, "--sparse"], env),
          `${base}/down.raw`,
        );
        await measure("client upload (in process)", async () => {
          const { stream } = await readVolumeRange(image, { offset: 0, length: 0 }, () => {}, {
            holes: true,
          });
          await storage.upload("bench", "v.raw", stream, { sparse: true });
        });
        await measure("client download (in process)", async () => {
          const file = await Deno.open(`${base}/down.raw`, { write: true, create: true });
          try {
            for await (const piece of await storage.download("bench", "v.raw", { sparse: true })) {
              if (typeof piece === "number") await file.seek(piece, Deno.SeekMode.Current);
              else {for (let rest = piece; rest.length > 0;) {
                  rest = rest.subarray(await file.write(rest));
                }}
            }
            await file.truncate(BYTES);
          } finally {
            file.close();
          }
        }, `${base}/down.raw`);
        await measure(
          "virsh vol-upload --sparse (evirt)",
          () => virsh(evirtRpc, ["vol-upload", "--pool", "bench", "r.raw", image, "--sparse"]),
        );
        await measure(
          "virsh vol-download --sparse (evirt)",
          () =>
            virsh(evirtRpc, [
              "vol-download",
              "--pool",
              "bench",
              "r.raw",
              `${base}/down.raw`,
              "--sparse",
            ]),
          `${base}/down.raw`,
        );
        if (libvirtd !== "") {
          await measure(
            "virsh vol-upload --sparse (libvirtd)",
            () =>
              virsh(LIBVIRTD_URI, ["vol-upload", "--pool", libvirtd, "v.raw", image, "--sparse"]),
          );
          await measure(
            "virsh vol-download --sparse (libvirtd)",
            () =>
              virsh(LIBVIRTD_URI, [
                "vol-download",
                "--pool",
                libvirtd,
                "v.raw",
                `${base}/down.raw`,
                "--sparse",
              ]),
            `${base}/down.raw`,
          );
        }
      }
    } finally {
      if (libvirtd !== "") await virsh(LIBVIRTD_URI, ["pool-destroy", libvirtd]).catch(() => {});
      receiver.kill("SIGTERM");
      await receiver.status;
    }
    const copied = median(figures.get("cp --sparse=always")!);
    const allocated = (await Deno.stat(`${base}/pool/v.raw`)).blocks! * 512;
    console.log(`${MIB} MiB sparse image, ${RUNS} runs, one MiB of data every 16 MiB`);
    for (const [what, seconds] of figures) {
      const cpu = serviceCpu.get(what);
      const spent = cpu === undefined
        ? ""
        : `; evirt service CPU ${
          median(cpu.map((one) => one.user + one.system)).toFixed(0)
        } ms (user ${median(cpu.map((one) => one.user)).toFixed(0)}, system ${
          median(cpu.map((one) => one.system)).toFixed(0)
        })`;
      console.log(line(what, seconds, what.startsWith("cp ") ? undefined : copied) + spent);
    }
    if (libvirtd === "") console.log(`libvirtd: no socket at ${LIBVIRTD_SOCKET}`);
    console.log(`volume allocation after upload: ${(allocated / 1024 ** 2).toFixed(0)} MiB`);
  } finally {
    await ok(["pool-destroy", "bench"], env).catch(() => {});
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}
