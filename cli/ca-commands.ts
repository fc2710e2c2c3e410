/**
 * `nodemesh ca init|node-token|issue-node|serve`: the mesh CA. Run on the CA host; only
 * `serve` stays up. Node credentials are made here for agents to authenticate to the CA.
 */
import path from 'node:path'
import { Option, type Command } from 'commander'
import { NmError } from '../registry/errors'
import { collect, globalFlags, print } from './cli-context'
import { parseHostPort, parseNodeName, parseRegistrySpec } from './parse-flag-values'

const DAY_MS = 86_400_000

function dirOption(): Option {
  return new Option('--dir <dir>', 'the CA directory (ca.crt, ca.key, ca.json, tokens.json)').env('NODEMESH_CA_DIR').makeOptionMandatory()
}

export function addCaCommands(program: Command): void {
  const ca = program.command('ca').description('the mesh certificate authority (run on the CA host)')

  ca.command('init')
    .description('create the mesh root in a new CA directory')
    .addOption(dirOption())
    .option('--trust-domain <td>', 'SPIFFE trust domain', 'nodemesh.local')
    .action(async (o: { dir: string; trustDomain: string }) => {
      const { initCaDir } = require('../ca/ca-dir') as typeof import('../ca/ca-dir')
      const created = await initCaDir(o.dir, o.trustDomain)
      print(`CA created in ${o.dir} for trust domain ${created.trustDomain}; copy ${path.join(o.dir, 'ca.crt')} to every agent host (ca.key stays here)`)
    })

  ca.command('node-token')
    .description('make a one-time join token for NODE (agent: --join-token)')
    .argument('<node>', 'the node name the agent runs with (--node)')
    .addOption(dirOption())
    .option('--ttl <duration>', 'how long the token can be used, e.g. 30m, 1h', '1h')
    .option('--ca-address <host:port>', 'CA address to put in the printed agent command', '<CA_HOST>:15012')
    .action(async (nodeText: string, o: { dir: string; ttl: string; caAddress: string }) => {
      const node = parseNodeName(nodeText, 'node name')
      const { parseDuration } = require('../ca/duration') as typeof import('../ca/duration')
      const ttlMs = parseDuration(o.ttl, '--ttl', { minMs: 60_000, maxMs: 7 * DAY_MS })
      const { caDirFiles, loadCaDir } = require('../ca/ca-dir') as typeof import('../ca/ca-dir')
      const { addToken, newJoinToken } = require('../ca/join-tokens') as typeof import('../ca/join-tokens')
      const { updateTokens } = require('../ca/token-file') as typeof import('../ca/token-file')
      loadCaDir(o.dir) // refuses a directory without a CA before a token is written
      const token = newJoinToken()
      const now = new Date()
      await updateTokens(caDirFiles(o.dir).tokens, (list) => ({ tokens: addToken(list, token, node, ttlMs, now), result: undefined }))
      print([
        `join token for node ${node} (one use, until ${new Date(now.getTime() + ttlMs).toISOString()}):`,
        token,
        `on ${node}, with the mesh root copied from ${path.resolve(o.dir, 'ca.crt')}, run:`,
        `  nodemesh agent --node ${node} --ca-address ${o.caAddress} --ca-bundle /etc/nodemesh/ca.crt --join-token ${token}`,
      ].join('\n'))
    })

  ca.command('issue-node')
    .description('write an offline node credential for NODE to --out (agent: --node-credential DIR)')
    .argument('<node>', 'the node name the agent runs with (--node)')
    .addOption(dirOption())
    .requiredOption('--out <dir>', 'directory to write node.key, node.crt and ca.crt to')
    .option('--ttl <duration>', 'how long the credential is valid (the agent renews it at half-life)', '30d')
    .action(async (nodeText: string, o: { dir: string; out: string; ttl: string }) => {
      const node = parseNodeName(nodeText, 'node name')
      const { parseDuration } = require('../ca/duration') as typeof import('../ca/duration')
      const ttlMs = parseDuration(o.ttl, '--ttl', { minMs: 3_600_000, maxMs: 3650 * DAY_MS })
      const { issueNodeBundle } = require('../ca/issue-node-bundle') as typeof import('../ca/issue-node-bundle')
      const issued = await issueNodeBundle(o.dir, node, o.out, ttlMs)
      print(`node credential for ${issued.identity} (until ${issued.notAfter.toISOString()}) written to ${o.out}; on ${node} run: nodemesh agent --node ${node} --ca-address <CA_HOST>:15012 --node-credential ${o.out}`)
    })

  ca.command('serve')
    .description('run the issuer: a gRPC service over TLS that signs node and workload certificates')
    .addOption(dirOption())
    .option('--registry <spec>', 'registry to check workloads against: file:PATH (or use the global --redis URL)')
    .option('--listen <host:port>', 'address to serve on', '0.0.0.0:15012')
    .option('--server-name <name>', 'DNS name or IP agents reach the CA by (repeatable; added to localhost, the host name and its addresses)', collect, [])
    .option('--workload-ttl <duration>', 'lifetime of workload certificates', '24h')
    .option('--node-ttl <duration>', 'lifetime of node credentials from join tokens and renewals', '7d')
    .action(async (o: { dir: string; registry?: string; listen: string; serverName: string[]; workloadTtl: string; nodeTtl: string }, cmd: Command) => {
      const flags = globalFlags(cmd)
      if (o.registry !== undefined && flags.redis !== undefined) throw new NmError('NM_BAD_ARGUMENT', 'give either --redis or --registry, not both')
      const spec = o.registry !== undefined ? parseRegistrySpec(o.registry) : flags.redis
      if (spec === undefined) throw new NmError('NM_BAD_ARGUMENT', '`ca serve` needs the registry: --redis URL or --registry file:PATH')
      parseHostPort(o.listen, '--listen')
      const { parseDuration } = require('../ca/duration') as typeof import('../ca/duration')
      const workloadTtlMs = parseDuration(o.workloadTtl, '--workload-ttl', { minMs: 60_000, maxMs: 365 * DAY_MS })
      const nodeTtlMs = parseDuration(o.nodeTtl, '--node-ttl', { minMs: 3_600_000, maxMs: 3650 * DAY_MS })
      const { runCaServer } = require('../ca/run-ca-server') as typeof import('../ca/run-ca-server')
      const server = await runCaServer({ caDir: o.dir, registry: spec, listen: o.listen, serverNames: o.serverName, workloadTtlMs, nodeTtlMs })
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      await server.close()
    })
}
