import type { PathSegment } from '../toml/index.js';

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** Human form of a key path for messages: `sources.stripe.api_key`, `products[1].name`, `"a.b".c`. */
export function formatKeyPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += (out ? '.' : '') + (BARE_KEY.test(seg) ? seg : JSON.stringify(seg));
  }
  return out;
}
