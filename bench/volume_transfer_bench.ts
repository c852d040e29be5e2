/**
 * `vol-upload` / `vol-download` of a 2 GiB sparse image through evirt's CLI and API, beside
 * `cp --sparse=always` of the same file measured in the same run (the physical limit here).
 *
 * As a script (`deno run -A bench/volume_transfer_bench.ts`) it prints, for each of the three,
 * the median wall time of `EVIRT_BENCH_TRANSFER_RUNS` runs (3), the throughput over the image's
 * length, and evirt's share of the `cp` figure. The image (`EVIRT_BENCH_TRANSFER_MIB`, 2048 MiB)
 * holds one MiB of random data every 16 MiB; the rest is holes. Both transfers run with
 * `--sparse`: zero blocks cross the socket as hole records and stay holes at the destination,
 * but each side still reads the holes as zeros and tests them (no `SEEK_HOLE` here), where `cp`
 * skips them. Wall times include the CLI process's start.
 *
 * @module
 */

import { parsePositiveInteger } from "../src/config/config.ts";
import { runEvirt } from "../tests/support/cli_process.ts";
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
  if (run.code !== 0) throw new Error(`evirt ${args.join(" ")}: ${run.stderr}`);
}

async function command(program: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(program, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

function line(what: string, seconds: number[], baseline?: number): string {
  const wall = median(seconds);
  const rate = BYTES / 1024 ** 2 / wall;
  const share = baseline === undefined ? "" : `, ${(100 * baseline / wall).toFixed(0)} % of cp`;
  return `${what.padEnd(28)} median ${wall.toFixed(2)} s, ${rate.toFixed(0)} MiB/s${share}`;
}

if (import.meta.main) {
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
    await ok(["vol-create-as", "bench", "v.raw", `${BYTES}`], env);
    const cp: number[] = [];
    const upload: number[] = [];
    const download: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      cp.push(await timed(() => command("cp", ["--sparse=always", image, `${base}/copy.raw`])));
      await Deno.remove(`${base}/copy.raw`);
      upload.push(
        await timed(() => ok(["vol-upload", "--pool", "bench", "v.raw", image, "--sparse"], env)),
      );
      download.push(
        await timed(() =>
          ok(["vol-download", "--pool", "bench", "v.raw", `${base}/down.raw`, "--sparse"], env)
        ),
      );
      await command("cmp", [image, `${base}/down.raw`]);
      await Deno.remove(`${base}/down.raw`);
    }
    const copied = median(cp);
    const allocated = (await Deno.stat(`${base}/pool/v.raw`)).blocks! * 512;
    console.log(`${MIB} MiB sparse image, ${RUNS} runs, one MiB of data every 16 MiB`);
    console.log(line("cp --sparse=always", cp));
    console.log(line("evirt vol-upload --sparse", upload, copied));
    console.log(line("evirt vol-download --sparse", download, copied));
    console.log(`volume allocation after upload: ${(allocated / 1024 ** 2).toFixed(0)} MiB`);
  } finally {
    await ok(["pool-destroy", "bench"], env).catch(() => {});
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}
