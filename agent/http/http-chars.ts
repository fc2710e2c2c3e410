/**
 * Byte classes of RFC 9110/9112 and RFC 3986 as lookup tables, so the head parser checks a
 * byte with one array read instead of a chain of comparisons.
 */
function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256)
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0
  return t
}

const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)

/** tchar: what methods and field names are made of. */
export const TOKEN = table((c) => isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)))

/** field-vchar / obs-text, SP and HTAB: what a field value may hold. */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f))

/** pchar plus '/', '?' (RFC 3986 path and query); '%' is checked for two hex digits separately. */
export const TARGET = table((c) => isAlnum(c) || "-._~!$&'()*+,;=:@/?%".includes(String.fromCharCode(c)))

/** reg-name, IP-literal and port characters of an authority (no userinfo). */
export const AUTHORITY = table((c) => isAlnum(c) || "-._~!$&'()*+,;=%:[]".includes(String.fromCharCode(c)))

export const HEX = table((c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))

export const CR = 0x0d
export const LF = 0x0a
export const SP = 0x20
export const HT = 0x09
export const COLON = 0x3a
export const COMMA = 0x2c
