/**
 * `vol-job`: see `../volume_job_verbs.ts`, where volume jobs meet the command line.
 *
 * @module
 */

export { volJobVerb } from "../volume_job_verbs.ts";
