// `npm install` / `npm rebuild` hook: builds the original_dst addon with node-gyp. A failed
// build must not fail the install: only capture mode needs the addon, bind mode does not.
'use strict'
const { spawnSync } = require('node:child_process')

if (process.platform !== 'linux') {
  console.warn('nodemesh: skipping the native addon (SO_ORIGINAL_DST is Linux only); capture mode is unavailable, bind mode works')
  process.exit(0)
}
// npm sets npm_config_node_gyp to its bundled node-gyp for lifecycle scripts.
const gyp = process.env.npm_config_node_gyp
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []]
const r = spawnSync(cmd, [...args, 'rebuild', '-C', __dirname], { stdio: 'inherit' })
if (r.status !== 0) {
  const why = r.error ? r.error.message : `exit ${r.status}`
  console.warn(`nodemesh: the native addon for capture mode was not built (${why}). Bind mode works; for capture mode ` +
    'install python3, make and a C compiler, then run `npm rebuild` or `npx node-gyp rebuild -C native`.')
}
process.exit(0)
