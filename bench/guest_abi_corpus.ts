/**
 * Side-by-side measure of define-time completion over libvirt's shared corpus: each
 * `qemuxml2argv/*.xml` input is defined in libvirt 9.0 (`virsh -c qemu:///system define`, under
 * a unique `abi13-corpus-N` name, with `<emulator>` pointed at the installed QEMU, undefined
 * right after) and completed by evirt's QEMU driver; the two persistent XMLs are compared:
 *
 * - whole document (the uuid aside);
 * - guest ABI only: the lines of addresses, controllers (with `<model name>` and `<target>`),
 *   the machine type, inputs, the balloon and video models.
 *
 * The shared corpus has no `qemuxml2xmloutdata`, so libvirt itself is the expectation.
 * Usage: `deno run -A bench/guest_abi_corpus.ts` (needs virsh, a libvirtd answering on
 * qemu:///system, qemu-system-x86_64 and ../shared/corpus/libvirt). Prints one line per input
 * whose ABI differs, then the counts; exits with status 1 when any input both accept has a
 * different guest ABI (all 280 have libvirt's).
 *
 * @module
 */

import { completeQemuDefinition } from "../drivers/qemu/definition_completion.ts";
import { CapabilityCache } from "../drivers/qemu/qemu_capabilities.ts";
import { applyDomainDefaults } from "../src/model/domain_defaults.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../src/xml/mod.ts";

const URI = "qemu:///system";
const CORPUS = `${
  Deno.env.get("EVIRT_SHARED_DIR") ?? new URL("../../shared", import.meta.url).pathname
}/corpus/libvirt/qemuxml2argv`;
/** Longest one virsh call may take, in ms. */
const VIRSH_TIMEOUT_MS = 30_000;
/** Lines that carry the guest ABI. */
const ABI_LINE =
  /<address |<controller |machine=|<model name=|<target chassis|<target chassisNr|<input |<memballoon |<video>|<model type=.*(heads|vram)/;

async function virsh(...args: string[]): Promise<{ ok: boolean; text: string }> {
  const output = await new Deno.Command("virsh", {
    args: ["-c", URI, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(VIRSH_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: output.success,
    text: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

function normalized(xml: string): string[] {
  return xml.split("\n").filter((line) => !line.includes("<uuid>") && line.trim() !== "");
}

const capabilities = await new CapabilityCache().get("qemu-system-x86_64");
const dir = await Deno.makeTempDir({ prefix: "evirt-abi-corpus-" });
const counts = { inputs: 0, libvirtAccepts: 0, evirtAccepts: 0, both: 0, whole: 0, abi: 0 };
try {
  const names = [...Deno.readDirSync(CORPUS)].map((entry) => entry.name)
    .filter((name) => name.endsWith(".xml")).sort();
  for (const [index, file] of names.entries()) {
    counts.inputs++;
    const name = `abi13-corpus-${index}`;
    const xml = (await Deno.readTextFile(`${CORPUS}/${file}`))
      .replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`)
      .replace(/<emulator>[^<]*<\/emulator>/, `<emulator>${capabilities.path}</emulator>`);
    let evirt: string | undefined;
    try {
      const definition = applyDomainDefaults(parseDomainXml(xml));
      validateDomain(definition);
      evirt = formatDomainXml(
        completeQemuDefinition(definition, capabilities.machines, capabilities.path),
        { inactive: true },
      );
      counts.evirtAccepts++;
    } catch {
      // evirt refuses it at define.
    }
    const path = `${dir}/${name}.xml`;
    await Deno.writeTextFile(path, xml);
    const defined = await virsh("define", path);
    if (!defined.ok) continue;
    counts.libvirtAccepts++;
    let libvirt: string;
    try {
      libvirt = (await virsh("dumpxml", "--inactive", name)).text;
    } finally {
      await virsh("undefine", "--nvram", name);
    }
    if (evirt === undefined) continue;
    counts.both++;
    const left = normalized(evirt);
    const right = normalized(libvirt);
    if (left.join("\n") === right.join("\n")) counts.whole++;
    const abiLeft = left.filter((line) => ABI_LINE.test(line));
    const abiRight = right.filter((line) => ABI_LINE.test(line));
    if (abiLeft.join("\n") === abiRight.join("\n")) counts.abi++;
    else console.log(`abi differs: ${file}`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
console.log(
  `${counts.inputs} inputs; libvirt accepts ${counts.libvirtAccepts}, evirt ${counts.evirtAccepts}, ` +
    `both ${counts.both}; of those, same guest ABI: ${counts.abi}, same whole document: ${counts.whole}`,
);
if (counts.abi < counts.both) Deno.exit(1);
