import t from 'tap'
import { normalizeRequestPath } from '../../../agent/authz/normalize-path'

t.test('normalized paths', async (t) => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/admin', '/admin'],
    ['/admin/', '/admin/'],
    ['/Admin', '/Admin'],
    // query and fragment are not the path
    ['/admin?x=1', '/admin'],
    ['/admin#x', '/admin'],
    ['/admin?x#y', '/admin'],
    ['/admin#x?y', '/admin'],
    ['/?', '/'],
    // slashes merged
    ['//admin', '/admin'],
    ['///admin//x', '/admin/x'],
    ['/admin//', '/admin/'],
    // dot segments, never above the root
    ['/admin/../admin', '/admin'],
    ['/a/./b', '/a/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/../', '/a/'],
    ['/a/.', '/a/'],
    ['/..', '/'],
    ['/../../admin', '/admin'],
    ['/a/..//admin', '/admin'],
    ['/a/.../b', '/a/.../b'],
    ['/a/..b/c', '/a/..b/c'],
    // encoded slashes and backslashes are separators (DECODE_AND_MERGE_SLASHES)
    ['/admin%2Fsecret', '/admin/secret'],
    ['/admin%2fsecret', '/admin/secret'],
    ['/admin%5Csecret', '/admin/secret'],
    ['/admin%5csecret', '/admin/secret'],
    ['/admin\\x', '/admin/x'],
    ['/a%2F..%2Fadmin', '/admin'],
    ['/%2F%2Fadmin', '/admin'],
    // unreserved characters decoded, dot segments spelled encoded resolved
    ['/a/%2e%2e/admin', '/admin'],
    ['/a/%2E%2E/admin', '/admin'],
    ['/a/.%2e/admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/%7Euser', '/~user'],
    ['/a%2Db', '/a-b'],
    // everything else stays encoded, hex upper-cased; one pass only
    ['/admin%252F', '/admin%252F'],
    ['/admin%252Fx', '/admin%252Fx'],
    ['/a%3Fb', '/a%3Fb'],
    ['/a%23b', '/a%23b'],
    ['/a%20b', '/a%20b'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%0ab', '/a%0Ab'],
    // absolute-form (requests sent to a proxy) and asterisk-form
    ['http://web.mesh/admin', '/admin'],
    ['http://web.mesh:8080//admin?x', '/admin'],
    ['HTTPS://Web.Mesh', '/'],
    ['http://web.mesh?x', '/'],
    ['*', '*'],
  ]
  for (const [raw, want] of cases) t.same(normalizeRequestPath(raw), { ok: true, path: want }, raw)
})

t.test('refused targets', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['/admin\u0000', /control character/],
    ['/admin%00', /encoded NUL/],
    ['/a\tb', /control character/],
    ['/a b', /space/],
    ['/a\u007fb', /control character/],
    ['/a\r\nb', /control character/],
    ['/a%zz', /invalid percent-encoding/],
    ['/a%2', /invalid percent-encoding/],
    ['/a%', /invalid percent-encoding/],
    ['/a%%41', /invalid percent-encoding/],
    ['admin', /must be a path/],
    ['', /must be a path/],
    ['?x', /must be a path/],
    ['web.mesh:80', /must be a path/],
    ['http:/admin', /must be a path/],
  ]
  for (const [raw, want] of cases) {
    const r = normalizeRequestPath(raw)
    t.equal(r.ok, false, JSON.stringify(raw))
    if (!r.ok) t.match(r.reason, want, JSON.stringify(raw))
  }
})

t.test('normalizing twice changes nothing more, except a literal %25 (one decoding pass)', async (t) => {
  for (const raw of ['//a/./b/../c%2Fd', '/a%5C..%5Cb', '/x/%2e/y/', '/caf%c3%a9', '/']) {
    const once = normalizeRequestPath(raw)
    if (!once.ok) { t.fail(raw); continue }
    t.same(normalizeRequestPath(once.path), once, raw)
  }
})
