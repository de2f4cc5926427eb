// HTTPS for tests the way a real client sees it: certificates verified
// against the test CA (never switched off), and the test domains
// (*.example.com, *.example.net, *.example.org) resolved to 127.0.0.1,
// so a server can be reached by the name its issuer URL and certificate
// carry. NODE_EXTRA_CA_CERTS cannot do this (it is read at node's start),
// so requests go through an undici Agent with its own CA and lookup.
import { lookup as systemLookup } from 'node:dns';
import { Agent, fetch as undiciFetch } from 'undici';

// Names the harness resolves itself; everything else goes to the system.
export const TEST_NAME = /(^|\.)example\.(com|net|org)$/i;

// A dns.lookup-compatible function: names in hosts (an object name ->
// address) first, then test names to 127.0.0.1, then the system resolver.
// Node may ask for all addresses (options.all, with autoSelectFamily).
export function makeLookup(hosts = {}) {
  return function lookup(hostname, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const address = hosts[name] ?? (TEST_NAME.test(name) ? '127.0.0.1' : null);
    if (address === null) return systemLookup(hostname, options, callback);
    const family = address.includes(':') ? 6 : 4;
    if (options?.all) return callback(null, [{ address, family }]);
    return callback(null, address, family);
  };
}

// A fetch(url, init) that trusts ca (PEM text) and resolves test names.
// It is what oauth4webapi takes as [customFetch] and what tests call
// directly. fetch.close() ends its connections.
export function makeFetch({ ca, hosts = {} } = {}) {
  const agent = new Agent({ connect: { ca, lookup: makeLookup(hosts) } });
  const fetch = (url, init = {}) => undiciFetch(url, { ...init, dispatcher: agent });
  fetch.agent = agent;
  fetch.close = () => agent.close();
  return fetch;
}
