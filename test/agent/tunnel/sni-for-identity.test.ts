import t from 'tap'
import crypto from 'node:crypto'
import { identityForSni, sniForIdentity } from '../../../agent/tunnel/sni-for-identity'

const WEB = 'spiffe://nodemesh.local/ns/default/sa/web'
const DB = 'spiffe://nodemesh.local/ns/default/sa/db'
const NODE = 'spiffe://nodemesh.local/node/vm-1'

t.test('the name is a hash of the identity under id.nodemesh', async (t) => {
  const want = `${crypto.createHash('sha256').update(WEB).digest('hex').slice(0, 32)}.id.nodemesh`
  t.equal(sniForIdentity(WEB), want)
  t.match(sniForIdentity(WEB), /^[0-9a-f]{32}\.id\.nodemesh$/)
  t.not(sniForIdentity(WEB), sniForIdentity(DB))
  t.ok(sniForIdentity(WEB).length <= 253, 'a valid host name length')
})

t.test('the server maps the name back, or falls back to the node identity', async (t) => {
  const held = [NODE, WEB, DB]
  t.equal(identityForSni(sniForIdentity(DB), held, NODE), DB)
  t.equal(identityForSni(sniForIdentity(WEB).toUpperCase(), held, NODE), WEB, 'SNI is case-insensitive')
  t.equal(identityForSni(sniForIdentity('spiffe://nodemesh.local/ns/x/sa/y'), held, NODE), NODE, 'not held')
  t.equal(identityForSni('web.example.com', held, NODE), NODE, 'another name')
  t.equal(identityForSni(undefined, held, NODE), NODE, 'no SNI')
  t.equal(identityForSni(`x${sniForIdentity(WEB)}`, held, NODE), NODE, 'a longer label')
})
