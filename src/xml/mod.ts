/**
 * libvirt domain XML ⇄ the typed domain model.
 *
 * - {@linkcode parseDomainXml}: a structural parse with hostile-input limits (size, depth, no
 *   DOCTYPE or entities); no defaults, so formatting gives the document back; code 27 errors.
 * - {@linkcode formatDomainXml}: libvirt's layout and element order; `inactive`, `secure` and a
 *   running domain's `id`.
 * - {@linkcode validateDomain}: libvirt's define-time semantic checks (codes 8, 27, 67, with
 *   the element path in `where`).
 *
 * Define runs parse → `applyDomainDefaults` (src/model/domain_defaults.ts) → validate, and
 * stores the result; `domainFromJson` (src/model/domain_json.ts) checks a definition that
 * arrives as JSON instead.
 *
 * ## The JSON form, version 1 (`DOMAIN_MODEL_VERSION` in src/model/domain.ts)
 *
 * The definition these functions exchange is its own JSON form: what `JSON.stringify` writes
 * is the API's and the event log's representation, and `JSON.parse` of it deep-equals it.
 *
 * 1. Plain JSON only: objects, arrays, strings, finite integers, `true`. Absent means absent:
 *    no `undefined`, no `null`.
 * 2. Field names are the XML names in camelCase; src/model/domain_schema.ts maps each field to
 *    its attribute or element, and parser, formatter and `domainFromJson` all follow it.
 * 3. Sizes are KiB numbers (`memoryKiB`), whatever unit the XML used; counts, indexes, ports
 *    and PCI address parts are numbers; enumerations are libvirt's strings (`"on"`, `"yes"`).
 * 4. Lists of repeated elements are always present, empty when there are none.
 * 5. `name` is `""`, `memoryKiB` and `vcpus` `0` when the document has none.
 * 6. What the model does not type is kept under `extra` of the enclosing object: unknown
 *    attributes, unknown elements with the sibling they followed (`after`), and what a
 *    flattened element had beyond its value (`children`), so nothing a user wrote is dropped.
 *    Comments and processing instructions are not kept (libvirt drops them too).
 *
 * A change of meaning or shape of any field bumps the version; whoever stores definitions records
 * the version beside them, so a later version can convert them.
 *
 * @module
 */

export { type ParseDomainOptions, parseDomainXml } from "./parse_domain.ts";
export { type FormatDomainOptions, formatDomainXml } from "./format_domain.ts";
export { validateDomain, type ValidateDomainOptions } from "./validate_domain.ts";
export { XmlSyntaxError } from "./xml_reader.ts";
