'use strict';
// Bundled in place of every string-width (yargs, cliui and wrap-ansi each import one). string-width
// builds an Intl.Segmenter and a \p{RGI_Emoji} expression when its module loads (~30-60 ms), and yargs
// lays out a command's help text before running it, so every CLI start paid for it. In git-seal's help
// text, printable ASCII and '…' take one column a character (the ellipsis is East Asian ambiguous: one
// column when ambiguousIsNarrow is true, its default) and a line feed none; other text loads string-width.
const PLAIN = /^[\x20-\x7e\u2026\n]*$/;
let real;
module.exports = function stringWidth(string, options) {
  const narrow = options?.ambiguousIsNarrow;
  if (typeof string === 'string' && (narrow === undefined || narrow === true) && PLAIN.test(string)) return string.length - (string.split('\n').length - 1);
  real ??= require('string-width/real').default;
  return real(string, options);
};
