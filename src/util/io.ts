import { readFileSync } from 'node:fs';
import { GitSealError } from '../errors.js';
import { decodeUtf8, TomlSyntaxError } from '../toml/index.js';
import { withFileLock, writeFileAtomic } from './atomic.js';

const STDIN_NAME = '<stdin>';

export function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (err) {
    throw new GitSealError(`${STDIN_NAME}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'pipe the file in or name it as an argument');
  }
}

/** Read a file (or stdin when `file` is undefined or '-') as bytes. */
export function readBytes(file: string | undefined): Buffer {
  if (file === undefined || file === '-') return readStdin();
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
  const name = file === undefined || file === '-' ? STDIN_NAME : file;
  const bytes = readBytes(file);
  return { text: decodeText(bytes, name), name, bytes };
}

export interface OutputTarget {
  inPlace?: boolean;
  output?: string;
  /** The input file, for --in-place. */
  file?: string;
  /** Mode for newly created files (plaintext output uses 0600). */
  mode?: number;
  /** With --in-place: the bytes read; the write is refused if the file changed since. */
  expected?: Buffer;
}

/** Run a command's read and write under the input file's lock when it rewrites that file (--in-place). */
export function rewriting<T>(target: { inPlace?: boolean; file?: string }, fn: () => Promise<T>): Promise<T> {
  return target.inPlace && target.file !== undefined && target.file !== '-' ? withFileLock(target.file, fn) : fn();
}

/** Write to --output, over the input file (--in-place), or to stdout. Files are written atomically. */
export function writeOutput(text: string, target: OutputTarget): void {
  if (target.inPlace && target.output) throw new GitSealError('--in-place and --output cannot be used together', 'pick one');
  const path = target.inPlace ? target.file : target.output;
  if (target.inPlace && (target.file === undefined || target.file === '-')) throw new GitSealError('--in-place needs a FILE argument', 'name the file to rewrite');
  if (path === undefined || path === '-') {
    process.stdout.write(text);
    return;
  }
  writeFileAtomic(path, text, target.mode, target.inPlace ? { expected: target.expected } : {});
}
