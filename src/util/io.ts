import { readFileSync } from 'node:fs';
import { GitSealError } from '../errors.js';
import { decodeUtf8, TomlSyntaxError } from '../toml/index.js';

const STDIN_NAME = '<stdin>';

export function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (err) {
    throw new GitSealError(`${STDIN_NAME}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'pipe the file in or name it as an argument');
  }
}

/** Read a file (or stdin when `file` is undefined: a file named '-' is read as a file) as bytes. */
export function readBytes(file: string | undefined): Buffer {
  if (file === undefined) return readStdin();
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : 'cannot be read';
    throw new GitSealError(`${file}: ${why}`, 'check the path and permissions');
  }
}

/** Decode strictly as UTF-8 (TOML files must be UTF-8), with the position of a bad byte. */
export function decodeText(bytes: Uint8Array, name: string): string {
  try {
    return decodeUtf8(bytes);
  } catch (err) {
    if (err instanceof TomlSyntaxError) throw new GitSealError(`${name}:${err.line}:${err.col}: ${err.reason}`, 'TOML files must be UTF-8');
    throw err;
  }
}

export function readText(file: string | undefined): { text: string; name: string; bytes: Buffer } {
  const name = file === undefined ? STDIN_NAME : file;
  const bytes = readBytes(file);
  return { text: decodeText(bytes, name), name, bytes };
}
