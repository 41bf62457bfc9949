/** The TOML scanner for git-seal's commands: a syntax error becomes a GitSealError naming file:line:col. */
import { GitSealError } from '../errors.js';
import { TomlSyntaxError } from './errors.js';
import { scanToml } from './scanner.js';
import type { TomlDocument } from './types.js';

export function scanOrThrow(text: string, file: string): TomlDocument {
  try {
    return scanToml(text);
  } catch (err) {
    if (err instanceof TomlSyntaxError) {
      throw new GitSealError(`${file}:${err.line}:${err.col}: ${err.reason}`, 'fix the TOML syntax and try again');
    }
    throw err;
  }
}
