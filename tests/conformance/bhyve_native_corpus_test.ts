/**
 * libvirt's bhyve command-line reading corpus (`bhyveargv2xmldata`): every `.args` with an
 * `.xml` reads to a definition whose XML equals libvirt's; an `.args` without one is refused.
 * The context is libvirt's `bhyveargv2xmltest`'s: its fixed UUID
 * (`c7a5fdbd-edaf-9455-926a-d65c16db1809`) and MAC (`52:54:00:00:00:00`) stand in for random
 * ones. Prints: cases, equal, rejected as libvirt rejects, differing (listed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { bhyveArgvToDomain } from "../../drivers/bhyve/mod.ts";
import { formatDomainXml } from "../../src/xml/format_domain.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { names, readIfPresent, runCases } from "./native_corpus.ts";
import { xmlDifference } from "./xml_corpus.ts";

const FOLDER = `${corpusDir}/bhyveargv2xmldata`;

testIf(
  "every bhyveargv2xmldata case reads to libvirt's XML or is refused as libvirt refuses it",
  missing(FOLDER),
  () => {
    const tally = runCases(
      "bhyveargv2xml",
      names(FOLDER, ".args"),
      (base) => readIfPresent(`${FOLDER}/${base}.xml`),
      (base) => {
        const def = bhyveArgvToDomain(Deno.readTextFileSync(`${FOLDER}/${base}.args`), {
          generateUuid: () => "c7a5fdbd-edaf-9455-926a-d65c16db1809",
          generateMac: () => "52:54:00:00:00:00",
        });
        return formatDomainXml(def, { secure: true });
      },
      xmlDifference,
    );
    assert.deepEqual(tally.differing, []);
    assert.ok(tally.cases >= 20, `only ${tally.cases} cases`);
  },
);
