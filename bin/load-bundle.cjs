'use strict';
// Loads one of git-seal's CommonJS bundles (dist/bundle/<name>.cjs) with the V8 code cache the build
// made for it (<name>.cjs.v8cache), so a start skips parsing and compiling most of the code. The cache
// file is V8's data preceded by the SHA-256 of the Node that made it, the bundle and that data: V8 itself
// checks only the source's length and its own version, which Node 20 releases share although their
// caches do not fit each other (Node 20.11 crashes on 20.20's), and does not check its data for damage.
// A cache for another Node or other bytes, or a damaged one, is ignored and the bundle compiled as usual.
// Nothing is written at run time. The bundles hold no dynamic import(): a vm.Script without an
// importModuleDynamically callback cannot run one on any Node (scripts/bundle.mjs refuses to build one).
const { createHash } = require('node:crypto');
const { readFileSync, statSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const DIGEST = 32;

/** This Node: its binary (path, size, time) and every version it reports. */
function runtimeId() {
  const binary = statSync(process.execPath);
  return [process.execPath, binary.size, binary.mtimeMs, process.arch, JSON.stringify(process.versions)].join('\0');
}

/** What a cache file starts with: the SHA-256 of the Node that made it, the bundle and V8's data. */
function cacheDigest(source, data, runtime = runtimeId()) {
  return createHash('sha256').update(runtime).update('\0').update(source).update(data).digest();
}

/** Compiles and runs a bundle; returns its exports and the compiled script (for `createCachedData`). */
function loadBundle(name) {
  const file = join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`);
  const source = readFileSync(file);
  let cachedData;
  try {
    const cache = readFileSync(`${file}.v8cache`);
    const data = cache.subarray(DIGEST);
    if (cache.length > DIGEST && cacheDigest(source, data).equals(cache.subarray(0, DIGEST))) cachedData = data;
  } catch {
    /* no cache: compile */
  }
  const script = new Script(Module.wrap(source.toString('utf8')), { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script, source, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

module.exports = { loadBundle, cacheDigest };
