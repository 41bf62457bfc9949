'use strict';
// Writes the V8 code cache of one bundle (see bin/load-bundle.cjs): `node make-code-cache.cjs <name> <out>`.
const { writeFileSync } = require('node:fs');
const { cacheDigest, loadBundle } = require('../bin/load-bundle.cjs');

const [name, out] = process.argv.slice(2);
const { script, source } = loadBundle(name);
const data = script.createCachedData();
writeFileSync(out, Buffer.concat([cacheDigest(source, data), data]));
