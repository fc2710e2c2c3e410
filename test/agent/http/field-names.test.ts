import t from 'tap'
import { classifyFieldName, Field, FIELD_NAMES } from '../../../agent/http/field-names'

function classify(name: string): number {
  const b = Buffer.from(`xx${name}:`, 'latin1')
  return classifyFieldName(b, 2, 2 + name.length)
}

t.test('known field names are recognised from bytes in any case', async (t) => {
  for (let id = 1; id < FIELD_NAMES.length; id++) {
    const name = FIELD_NAMES[id]!
    t.equal(classify(name), id, name)
    t.equal(classify(name.toUpperCase()), id, `${name} upper case`)
    t.equal(classify(name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())), id, `${name} title case`)
  }
})

t.test('other names are Other, including near misses', async (t) => {
  for (const name of ['Content-Type', 'Content-Lengths', 'Content_Length', 'Hosts', 'Hos', 'T', 'Tf', 'X-Forwarded-Host', 'Set-Cookie', 'Connectio~']) {
    t.equal(classify(name), Field.Other, name)
  }
})
