export { TomlSyntaxError } from './errors.js';
export { decodeUtf8, scanToml } from './scanner.js';
export { decodeScalar, formatBasicString } from './scalars.js';
export type * from './types.js';
export { appendArrayItem, removeArrayItem, removeKey, setRawValue, TomlEditError } from './splice.js';
