import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { loadIdentities } from '../age/index.js';
import { looksSealed, openWithKey, parseSealed, seal, unwrapFileDataKey } from '../format/seal.js';
import { loadConfigIfPresent, plaintextKeyFilter, profileFor, type GitSealConfig } from '../profiles/config.js';
import { decodeText } from '../util/io.js';
import { CatFileBatch } from './cat-file.js';

/**
 * The clean and smudge transforms, shared by the long-running filter process and the single-shot
 * fallbacks. One instance serves a whole git command: identities, config and the object reader are
 * loaded once, on first use.
 */
export class SealFilter {
  private identitiesCache?: Promise<Identity[]>;
  private configCache?: GitSealConfig | null;
  private objects?: CatFileBatch;
  private unopened: string[] = [];

  constructor(
    private readonly root: string,
    private readonly identityFiles: string[] = [],
    private readonly warn: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  private identities(): Promise<Identity[]> {
    this.identitiesCache ??= loadIdentities({ identityFiles: this.identityFiles, env: process.env }).then((l) => l.identities);
    return this.identitiesCache;
  }

  private config(): GitSealConfig | null {
    if (this.configCache === undefined) this.configCache = loadConfigIfPresent(this.root);
    return this.configCache;
  }

  /** The version of `path` git already has: the index entry (or "ours" during a merge), else HEAD's. */
  private async previousVersion(path: string): Promise<string | undefined> {
    this.objects ??= new CatFileBatch({ cwd: this.root });
    for (const spec of [`:0:${path}`, `:2:${path}`, `HEAD:${path}`]) {
      const blob = await this.objects.read(spec);
      if (blob) return blob.toString('utf8');
    }
    return undefined;
  }

  /** Working tree to repository: seal plaintext; already sealed input passes through unchanged. */
  async clean(path: string, content: Buffer): Promise<Buffer> {
    const text = decodeText(content, path);
    // Pass through only what really is a sealed file: a [gitseal] line inside a string is plaintext.
    if (looksSealed(text) && parseSealed(text, path)) return content;
    const previous = await this.previousVersion(path);
    const config = this.config();
    const profile = config ? profileFor(config, path) : null;
    let recipients = profile?.recipients;
    if (!recipients) {
      const prevSealed = previous !== undefined && looksSealed(previous) ? parseSealed(previous, path) : null;
      recipients = prevSealed?.meta.recipients;
    }
    if (!recipients || recipients.length === 0) {
      throw new GitSealError(
        config ? `no profile in .gitseal.toml covers ${path}` : `no .gitseal.toml and no earlier sealed version to take recipients from`,
        config ? 'add its path to a profile\'s files in .gitseal.toml' : 'run git-seal init',
      );
    }
    const result = await seal(text, {
      recipients,
      identities: await this.identities(),
      previous,
      plaintextKeys: plaintextKeyFilter(profile?.plaintextKeys ?? []),
      file: path,
    });
    return Buffer.from(result.text, 'utf8');
  }

  /** Repository to working tree: open when an identity can, else leave sealed (and say so once). */
  async smudge(path: string, content: Buffer): Promise<Buffer> {
    let text: string;
    try {
      text = decodeText(content, path);
    } catch {
      return content;
    }
    if (!looksSealed(text)) return content;
    try {
      const sealed = parseSealed(text, path);
      if (!sealed) return content;
      const dataKey = await unwrapFileDataKey(sealed, await this.identities(), path);
      if (!dataKey) {
        this.noteUnopened(path);
        return content;
      }
      return Buffer.from(openWithKey(sealed, dataKey, path), 'utf8');
    } catch (err) {
      // A damaged file stays sealed in the working tree; `git-seal decrypt` explains what is wrong.
      this.warn(`git-seal: ${path}: left sealed: ${err instanceof GitSealError ? err.message : (err as Error).message}`);
      return content;
    }
  }

  private noteUnopened(path: string): void {
    this.unopened.push(path);
    if (this.unopened.length === 1) {
      this.warn(`git-seal: no identity can open ${path}; leaving such files sealed (run git-seal doctor to see your keys)`);
    }
  }

  /** Files left sealed because no identity could open them. */
  get leftSealed(): readonly string[] {
    return this.unopened;
  }

  close(): void {
    this.objects?.close();
  }
}
