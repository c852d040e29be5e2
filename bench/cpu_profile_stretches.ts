/**
 * What held a thread's event loop: the busy stretches of a V8 CPU profile (`deno run
 * --cpu-prof …` writes one `.cpuprofile` per thread), longest first, each with the functions and
 * collections that took most of it, and the functions taking the most time overall.
 *
 * A stretch is a run of samples with no `(idle)` sample between: while it lasts, the thread's
 * loop answers nothing else. Times are the profile's sample intervals (wall clock), so on a
 * loaded machine they include time the thread waited for a CPU.
 *
 * `deno run -A bench/cpu_profile_stretches.ts PROFILE [MIN_MS]` (default 5 ms), e.g. after
 * `EVIRT_BENCH_SERVICE_FLAGS=0 deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof
 * --v8-flags=--heap-growing-percent=10 bench/define_load_bench.ts` on the main thread's profile
 * (the one whose name has no `worker`).
 *
 * @module
 */

/** The part of a `.cpuprofile` this reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  /** µs from the previous sample (the first from the profile's start). */
  timeDeltas: number[];
}

/** One busy stretch: its length and the frames most of it ran in, in µs. */
export interface Stretch {
  us: number;
  frames: Map<string, number>;
}

/** A frame as `function file:line`. */
function frameName(frame: CpuProfile["nodes"][number]["callFrame"]): string {
  const file = frame.url.slice(frame.url.lastIndexOf("/") + 1);
  return `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
}

/**
 * The busy stretches of `profile` of at least `minUs`, longest first, and the self time of every
 * frame (µs). A sample is credited to the innermost frame of this repository's code (a `.ts`
 * file) on its stack, else to its own frame (a collection, a runtime op).
 */
export function busyStretches(
  profile: CpuProfile,
  minUs: number,
): { stretches: Stretch[]; selfUs: Map<string, number> } {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // Each node's credited frame, found once.
  const credited = new Map<number, string>();
  const creditOf = (id: number): string => {
    const known = credited.get(id);
    if (known !== undefined) return known;
    let name = frameName(byId.get(id)!.callFrame);
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url.endsWith(".ts")) {
        name = frameName(frame);
        break;
      }
    }
    credited.set(id, name);
    return name;
  };
  const stretches: Stretch[] = [];
  const selfUs = new Map<string, number>();
  let current: Stretch = { us: 0, frames: new Map() };
  const close = () => {
    if (current.us >= minUs) stretches.push(current);
    current = { us: 0, frames: new Map() };
  };
  for (let index = 0; index < profile.samples.length; index++) {
    const id = profile.samples[index];
    // A sample lasts until the next one.
    const us = profile.timeDeltas[index + 1] ?? 0;
    const own = frameName(byId.get(id)!.callFrame);
    selfUs.set(own, (selfUs.get(own) ?? 0) + us);
    if (own.startsWith("(idle)")) {
      close();
      continue;
    }
    const name = creditOf(id);
    current.us += us;
    current.frames.set(name, (current.frames.get(name) ?? 0) + us);
  }
  close();
  stretches.sort((a, b) => b.us - a.us);
  return { stretches, selfUs };
}

function top(map: Map<string, number>, count: number): [string, number][] {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, count);
}

async function main(): Promise<void> {
  const [path, minText = "5"] = Deno.args;
  if (path === undefined) {
    console.error("usage: deno run -A bench/cpu_profile_stretches.ts PROFILE [MIN_MS]");
    Deno.exit(2);
  }
  const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
  const minMs = Number(minText);
  const { stretches, selfUs } = busyStretches(profile, minMs * 1000);
  const totalUs = profile.timeDeltas.reduce((sum, us) => sum + us, 0);
  console.log(
    `${stretches.length} busy stretches ≥ ${minMs} ms in ${(totalUs / 1e6).toFixed(1)} s; longest:`,
  );
  for (const stretch of stretches.slice(0, 20)) {
    const parts = top(stretch.frames, 5).map(([name, us]) => `${name} ${(us / 1000).toFixed(1)}`);
    console.log(`  ${(stretch.us / 1000).toFixed(1)} ms: ${parts.join("; ")}`);
  }
  console.log("most self time:");
  for (const [name, us] of top(selfUs, 25)) {
    console.log(`  ${(us / 1000).toFixed(1).padStart(9)} ms ${name}`);
  }
}

if (import.meta.main) await main();
