/** RSA 2048 keys from node:crypto (native; node-forge's pure-JS generation takes seconds). */
import crypto from 'node:crypto'
import { promisify } from 'node:util'

const generateKeyPair = promisify(crypto.generateKeyPair)

/** A new RSA 2048 private key as PKCS#8 PEM. */
export async function generateKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return privateKey
}
