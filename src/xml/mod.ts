/**
 * libvirt domain XML ⇄ the typed model.
 *
 * - {@linkcode parseDomainXml}: structural parse, no defaults, typed errors (code 27).
 * - {@linkcode formatDomainXml}: libvirt's layout; `inactive`, `secure`, live `id`.
 * - {@linkcode validateDomain}: libvirt's define-time semantic checks (codes 8, 27, 67).
 *
 * Define runs parse → `applyDomainDefaults` (src/model/domain_defaults.ts) → validate.
 *
 * ## The JSON form
 *
 * The definition these functions exchange is the JSON form itself: plain objects, arrays,
 * strings and numbers, `DOMAIN_MODEL_VERSION` (src/model/domain.ts) = 1. Its rules are in
 * src/model/domain.ts; the field-by-field mapping to XML is src/model/domain_schema.ts, which
 * the parser, the formatter and `domainFromJson` (src/model/domain_json.ts) all follow.
 *
 * @module
 */

export { type ParseDomainOptions, parseDomainXml } from "./parse_domain.ts";
export { type FormatDomainOptions, formatDomainXml } from "./format_domain.ts";
export { XmlSyntaxError } from "./xml_reader.ts";
export { validateDomain, type ValidateDomainOptions } from "./validate_domain.ts";
