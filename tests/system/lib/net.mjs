// HTTPS for tests the way a real client sees it: certificates verified
// against the test CA (never switched off), and the test domains
// (*.example.com, *.example.net, *.example.org) resolved to 127.0.0.1,
// so a server can be reached by the name its issuer URL and certificate
// carry. NODE_EXTRA_CA_CERTS cannot do this (it is read at node's start),
// so requests go through an undici Agent with its own CA and lookup.
import { lookup as systemLookup } from 'node:dns';
import { Agent, fetch as undiciFetch } from 'undici';

import { checkFetchResponse } from './contract.mjs';

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
// It is what oauth4webapi takes as [customFetch], what the browser helper
// drives and what tests call directly, so every response a test receives
// passes here: those from an origin registered with
// fetch.contracts.set(origin, 'as') are checked against api/as.yaml
// (contract.mjs) before the caller sees them, and a breach rejects the
// fetch with a ContractError. fetch.close() ends its connections.
export function makeFetch({ ca, hosts = {} } = {}) {
  const agent = new Agent({ connect: { ca, lookup: makeLookup(hosts) } });
  const contracts = new Map(); // origin -> API document name
  const fetch = async (url, init = {}) => {
    const res = await undiciFetch(url, { ...init, dispatcher: agent });
    const href = typeof url === 'string' ? url : url.href ?? url.url;
    const spec = contracts.get(new URL(href).origin);
    if (spec) await checkFetchResponse(spec, init.method ?? 'GET', href, res);
    return res;
  };
  fetch.agent = agent;
  fetch.contracts = contracts;
  fetch.close = () => agent.close();
  return fetch;
}
