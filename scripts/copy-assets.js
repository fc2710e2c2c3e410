// Copies non-TypeScript assets (gRPC .proto files) next to the compiled code and marks the CLI executable.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const root = path.join(__dirname, '..')
for (const dir of ['agent', 'ca', 'cli', 'registry']) copyProtos(path.join(root, dir), path.join(root, 'dist', dir))
const cli = path.join(root, 'dist', 'cli', 'main.js')
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755)

function copyProtos(from, to) {
  if (!fs.existsSync(from)) return
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name)
    if (entry.isDirectory()) copyProtos(src, path.join(to, entry.name))
    else if (entry.name.endsWith('.proto')) {
      fs.mkdirSync(to, { recursive: true })
      fs.copyFileSync(src, path.join(to, entry.name))
    }
  }
}
