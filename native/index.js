// Loads the compiled original_dst addon from build/ next to this file, whichever layout
// (TypeScript source or dist/) asks for it: the build output never moves, only its callers do.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

/** Where node-gyp puts the addon: Release normally, Debug for `node-gyp rebuild --debug`. */
const addonPaths = ['Release', 'Debug'].map((type) => path.join(__dirname, 'build', type, 'original_dst.node'))

/** The addon's exports, or undefined when it was never built. Load errors (ABI, arch) propagate. */
function load() {
  const found = addonPaths.find((p) => fs.existsSync(p))
  return found === undefined ? undefined : require(found)
}

module.exports = { addonPaths, load }
