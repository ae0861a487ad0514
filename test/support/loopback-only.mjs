/**
 * Preload (`node --import`) for tests that name a remote endpoint: every host name resolves to
 * 127.0.0.1, so a request that should never be sent cannot leave the machine.
 */
import dns from 'node:dns'

const lookup = dns.lookup
dns.lookup = (_host, options, callback) => lookup.call(dns, '127.0.0.1', options, callback)
const promisesLookup = dns.promises.lookup
dns.promises.lookup = (_host, options) => promisesLookup.call(dns.promises, '127.0.0.1', options)
