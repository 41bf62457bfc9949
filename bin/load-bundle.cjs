'use strict';
// Loads one of git-seal's CommonJS bundles (dist/bundle/<name>.cjs) with the V8 code cache the build
// made for it (<name>.cjs.v8cache), so a start skips parsing and compiling most of the code. The cache
// file is the SHA-256 of the bundle followed by V8's data; a cache for other bytes, or one V8 rejects (a
// different Node), is ignored and the bundle is compiled as usual. Nothing is written at run time.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const { Script, constants } = require('node:vm');

const DIGEST = 32;

/** Compiles and runs a bundle; returns its exports and the compiled script (for `createCachedData`). */
function loadBundle(name) {
  const file = join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`);
  const source = readFileSync(file);
  const digest = createHash('sha256').update(source).digest();
  let cachedData;
  try {
    const cache = readFileSync(`${file}.v8cache`);
    if (cache.length > DIGEST && digest.equals(cache.subarray(0, DIGEST))) cachedData = cache.subarray(DIGEST);
  } catch {
    /* no cache: compile */
  }
  const script = new Script(Module.wrap(source.toString('utf8')), {
    filename: file,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script, digest, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

module.exports = { loadBundle, DIGEST };
