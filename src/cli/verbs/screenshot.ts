/**
 * `screenshot`: saves an image of the guest's display to a file (named after the domain and the
 * time when none is given, as virsh does).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** The file extension virsh gives each image type. */
const EXTENSIONS: Record<string, string> = {
  "image/x-portable-pixmap": ".ppm",
  "image/png": ".png",
};

/**
 * The `screenshot` verb.
 *
 * @example
 * ```sh
 * evirt screenshot web /tmp/web.ppm   # Screenshot saved to /tmp/web.ppm, with type of image/x-portable-pixmap
 * ```
 */
export const screenshotVerb: Verb = {
  name: "screenshot",
  summary: "take a screenshot of a current domain console and store it into a file",
  options: [
    DOMAIN_OPTION,
    { name: "file", kind: "string", positional: true, help: "where to store the screenshot" },
    { name: "screen", kind: "integer", help: "ID of a screen to take screenshot of", max: 255 },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const image = await domainCommand(
      reference,
      undefined,
      () => context.client.screenshot(reference, args.integer("screen") ?? 0),
    );
    let file = args.text("file");
    if (file === undefined) {
      const name = await context.client.info(reference).then((info) => info.name, () => reference);
      file = `${name}-${fileTime(new Date())}${EXTENSIONS[image.mime] ?? ""}`;
    }
    try {
      await Deno.writeFile(file, image.data, { mode: 0o666 });
    } catch (error) {
      throw new CommandFailure(`cannot create file ${file}: ${(error as Error).message}`);
    }
    context.printExtra(`Screenshot saved to ${file}, with type of ${image.mime}\n`);
  },
};

/** virsh's `%Y-%m-%d-%H:%M:%S` in local time. */
function fileTime(date: Date): string {
  const two = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}-` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}
