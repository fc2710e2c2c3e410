import t from 'tap'
import {
  parseAddress, parseDnsName, parseHostPort, parseInteger, parseLabels, parseLeaseTtlSeconds, parseLogLevel,
  parseNodeName, parseOutputFormat, parseRedisUrl, parseRegistrySpec, parseVipCidr, parseWeight,
} from '../../cli/parse-flag-values'

t.test('accepted values', async (t) => {
  t.equal(parseInteger('15', '--x', 1, 20), 15)
  t.equal(parseAddress('10.0.0.5', '--address'), '10.0.0.5')
  t.equal(parseAddress('fd00::5', '--address'), 'fd00::5')
  t.equal(parseWeight('1000'), 1000)
  t.equal(parseLeaseTtlSeconds('30'), 30_000)
  t.same(parseLabels(['version=v2', 'app.kubernetes.io/name=web', 'empty=']), { version: 'v2', 'app.kubernetes.io/name': 'web', empty: '' })
  t.equal(parseVipCidr('10.96.0.0/16'), '10.96.0.0/16')
  t.equal(parseDnsName('example.org', '--trust-domain'), 'example.org')
  t.equal(parseNodeName('Host_1.example'), 'Host_1.example')
  t.equal(parseHostPort('1.1.1.1:53', '--ca-address'), '1.1.1.1:53')
  t.equal(parseHostPort('[2606:4700::1111]:53', '--ca-address'), '[2606:4700::1111]:53')
  t.equal(parseHostPort('dns.local:5353', '--ca-address'), 'dns.local:5353')
  t.equal(parseRedisUrl('redis://:secret@10.0.0.1:6379/0'), 'redis://:secret@10.0.0.1:6379/0')
  t.equal(parseRedisUrl('rediss://redis.example:6380'), 'rediss://redis.example:6380')
  t.equal(parseRegistrySpec('file:/var/lib/nodemesh/registry.json'), 'file:/var/lib/nodemesh/registry.json')
  for (const f of ['table', 'json', 'yaml']) t.equal(parseOutputFormat(f), f)
  t.equal(parseLogLevel('debug'), 'debug')
})

t.test('refused values say which flag and what it wants', async (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => parseInteger('abc', '--dns-port', 1, 65535), /^NM_BAD_ARGUMENT: --dns-port "abc" must be a whole number 1\.\.65535$/],
    [() => parseInteger('0', '--dns-port', 1, 65535), /--dns-port "0"/],
    [() => parseInteger('-5', '--dns-port', 1, 65535), /--dns-port "-5"/],
    [() => parseAddress('10.0.0', '--address'), /--address "10\.0\.0" is not an IP address/],
    [() => parseAddress('web', '--address'), /not an IP address/],
    [() => parseWeight('0'), /--weight "0" must be a whole number 1\.\.1000/],
    [() => parseWeight('1001'), /1\.\.1000/],
    [() => parseLeaseTtlSeconds('1'), /--lease-ttl "1" must be a whole number 2\.\.3600/],
    [() => parseLabels(['novalue']), /must be KEY=VALUE/],
    [() => parseLabels(['=v']), /must be KEY=VALUE/],
    [() => parseLabels(['bad key=v']), /--label key "bad key"/],
    [() => parseLabels(['k=bad value']), /--label value "bad value"/],
    [() => parseLabels(['k=a', 'k=b']), /--label k is given twice/],
    [() => parseVipCidr('10.0.0.1/16'), /host bits set; did you mean 10\.0\.0\.0\/16\?/],
    [() => parseVipCidr('10.0.0.0'), /not an IPv4 CIDR/],
    [() => parseVipCidr('10.0.0.0/31'), /prefix must be \/8\.\.\/30/],
    [() => parseVipCidr('300.0.0.0/16'), /not an IPv4 CIDR/],
    [() => parseDnsName('Example.ORG', '--trust-domain'), /--trust-domain "Example\.ORG" must be a DNS name/],
    [() => parseNodeName('bad node'), /--node "bad node" must be a host name/],
    [() => parseHostPort('1.1.1.1', '--ca-address'), /must be HOST:PORT/],
    [() => parseHostPort('1.1.1.1:0', '--ca-address'), /1\.\.65535/],
    [() => parseHostPort('[nothex]:53', '--dns-upstream'), /must be HOST:PORT/],
    [() => parseRedisUrl('localhost:6379'), /--redis "localhost:6379" is not a URL|URLs are not supported/],
    [() => parseRedisUrl('http://x'), /"http:" URLs are not supported/],
    [() => parseRedisUrl('not a url'), /is not a URL/],
    [() => parseRegistrySpec('/var/lib/registry.json'), /must be file:PATH/],
    [() => parseRegistrySpec('file:'), /must be file:PATH/],
    [() => parseOutputFormat('xml'), /-o "xml" must be one of table, json, yaml/],
    [() => parseLogLevel('loud'), /--log-level "loud" must be one of/],
  ]
  for (const [run, message] of cases) t.throws(run, message, String(message))
})
