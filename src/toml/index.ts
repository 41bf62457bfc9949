export { TomlSyntaxError } from './errors.js';
export { decodeUtf8, scanToml } from './scanner.js';
export { decodeScalar, formatBasicString } from './values.js';
export type * from './types.js';
export { appendArrayItem, formatDottedKey, formatKey, getRawValue, removeArrayItem, removeKey, setRawValue, TomlEditError } from './edit.js';
