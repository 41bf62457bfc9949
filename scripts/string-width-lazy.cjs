'use strict';
// Bundled in place of every string-width (yargs, cliui and wrap-ansi each import one): string-width
// builds an Intl.Segmenter and a \p{RGI_Emoji} expression when its module loads, ~40 ms that every
// CLI start paid, though only help and error output measure text. This loads it on first use instead.
let real;
module.exports = function stringWidth(string, options) {
  real ??= require('string-width/real').default;
  return real(string, options);
};
