/**
 * `detach-device`: see attach-device.ts, which holds the three device file verbs.
 *
 * @module
 */

export { detachDeviceVerb } from "./attach-device.ts";
