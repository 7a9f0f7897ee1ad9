#!/usr/bin/env node
'use strict';
// The CLI ships as compiled JavaScript (built by `npm ci` through the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('tally: the compiled CLI is missing (dist/); run `npm run build` (or `npm ci`) in ' + path.dirname(__dirname) + '\n');
  process.exit(1);
}
require(entry).main(process.argv).catch((error) => {
  process.stderr.write(`tally: ${error && error.message ? error.message : String(error)}\n`);
  process.exit(1);
});
