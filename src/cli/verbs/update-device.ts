/**
 * `update-device`: see attach-device.ts, which holds the three device file verbs.
 *
 * @module
 */

export { updateDeviceVerb } from "./attach-device.ts";
