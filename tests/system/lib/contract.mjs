// Contract checks: every HTTP response a system test receives from a
// server under test is checked against that server's OpenAPI 3.1 document
// in api/ (as.yaml, mbx.yaml), so the document and the code cannot drift
// apart without a test failing. A response fails when its status is not
// documented for the operation, a documented required header is missing
// or a documented header's value breaks its schema, or its body breaks
// the documented schema of its media type (JSON Schema 2020-12, Ajv).
//
//   const as = loadSpec('as');                      // api/as.yaml, cached
//   checkResponse(as, 'POST', 'https://as.example.com:8443/token', 400,
//     res.headers, await res.clone().text());      // throws ContractError
//
// The harness calls this on every response its fetch gets from a
// registered origin (net.mjs, federizer.mjs); tests need not. Paths that
// no `paths` template matches, and listed paths asked with an unlisted
// method, are checked against the document's `x-federizer-unrouted`
// responses (404 and 405).
//
// FZ_API_DIR points at another folder of documents (e.g. a scratch copy
// with a deliberate mistake, to see the tests fail). FZ_CONTRACT_LOG names
// a file that gets one line per response checked ("as: POST /token →
// 400"), to see which documented answers the tests reach.
//
// Beyond standard JSON Schema, one annotation is enforced: a string with
// `contentMediaType: application/jwt` (or application/json) and a
// `contentSchema` is decoded (the JWT's payload) and checked against it,
// so the claims of the tokens the AS issues are part of the contract.
import { appendFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const API_DIR = resolve(process.env.FZ_API_DIR ?? join(root, 'api'));

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export class ContractError extends Error {
  constructor(spec, where, message) {
    super(`contract ${spec.name}: ${where}: ${message}`);
    this.name = 'ContractError';
  }
}

// --- loading ---------------------------------------------------------------

function makeAjv() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // OpenAPI's own format names, which constrain nothing on the wire.
  ajv.addFormat('password', true);
  ajv.addFormat('binary', true);
  // contentSchema is an annotation in 2020-12; here it is a check.
  ajv.removeKeyword('contentSchema');
  ajv.addKeyword({
    keyword: 'contentSchema',
    schemaType: ['object', 'boolean'],
    errors: true,
    compile(sub, parent, it) {
      const media = parent.contentMediaType;
      if (media !== 'application/jwt' && media !== 'application/json') return () => true;
      let inner;
      const target = () => {
        inner ??= typeof sub === 'object' && sub.$ref
          ? it.self.compile({ $ref: new URL(sub.$ref, it.baseId).href })
          : it.self.compile(sub);
        return inner;
      };
      const check = (data) => {
        if (typeof data !== 'string') return true; // the type keyword says so
        let decoded;
        try {
          decoded = media === 'application/jwt'
            ? JSON.parse(Buffer.from(data.split('.')[1] ?? '', 'base64url').toString('utf8'))
            : JSON.parse(data);
        } catch (e) {
          check.errors = [{ keyword: 'contentSchema', message: `is not ${media}: ${e.message}`, params: {} }];
          return false;
        }
        const v = target();
        if (v(decoded)) return true;
        check.errors = v.errors.map(({ instancePath, ...e }) => ({
          ...e, message: `decoded as ${media}, ${instancePath || '(root)'} ${e.message}`,
        }));
        return false;
      };
      return check;
    },
  });
  return ajv;
}

const cache = new Map();

// The document api/<name>.yaml, ready to check responses with.
export function loadSpec(name) {
  if (cache.has(name)) return cache.get(name);
  const file = join(API_DIR, `${name}.yaml`);
  const doc = YAML.parse(readFileSync(file, 'utf8'));
  const id = `https://contract.federizer.invalid/${name}.yaml`;
  const ajv = makeAjv();
  ajv.addSchema(doc, id, undefined, false);
  const spec = {
    name,
    file,
    doc,
    id,
    ajv,
    validators: new Map(),
    basePath: new URL(doc.servers?.[0]?.url?.replace(/\{[^}]*\}/g, 'host') ?? 'https://host/')
      .pathname.replace(/\/$/, ''),
    templates: Object.keys(doc.paths ?? {}).map((t) => ({ template: t, segments: t.split('/').slice(1) })),
  };
  cache.set(name, spec);
  return spec;
}

// Every (METHOD, path template) the document lists.
export function documentedRoutes(spec) {
  const out = [];
  for (const [template, item] of Object.entries(spec.doc.paths ?? {})) {
    for (const m of METHODS) if (item[m]) out.push(`${m.toUpperCase()} ${template}`);
  }
  return out;
}

// --- matching --------------------------------------------------------------

// The keys of a local $ref ('#/components/headers/X' -> [components, headers, X]).
function refKeys(ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref: ${ref}`);
  return ref.slice(2).split('/').map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

// Follows local $refs of non-schema objects (responses, headers, ...):
// { obj, keys } with keys the JSON pointer (as keys) of where it is.
function follow(spec, obj, keys) {
  let o = obj;
  let k = keys;
  for (let i = 0; o && typeof o === 'object' && typeof o.$ref === 'string' && i < 16; i++) {
    k = refKeys(o.$ref);
    o = k.reduce((a, key) => a?.[key], spec.doc);
    if (o === undefined) throw new Error(`unresolved $ref ${obj.$ref}`);
  }
  return { obj: o, keys: k };
}

// The path template matching path, as the server's router picks it: at
// the first segment where candidates differ, a literal beats a {param}.
export function matchPath(spec, path) {
  if (spec.doc.paths?.[path]) return path;
  let p = path;
  if (spec.basePath && p.startsWith(spec.basePath)) p = p.slice(spec.basePath.length) || '/';
  const segs = p.split('/').slice(1);
  const hits = spec.templates.filter(({ segments }) => segments.length === segs.length &&
    segments.every((s, i) => /^\{[^}]+\}$/.test(s) || s === segs[i]));
  hits.sort((a, b) => {
    for (let i = 0; i < a.segments.length; i++) {
      const la = !a.segments[i].startsWith('{');
      const lb = !b.segments[i].startsWith('{');
      if (la !== lb) return la ? -1 : 1;
    }
    return 0;
  });
  return hits[0]?.template ?? null;
}

// --- checking ----------------------------------------------------------------

// The compiled schema at keys (a JSON pointer as a list of keys).
function validator(spec, keys) {
  const fragment = keys.map((k) => `/${encodeURIComponent(k.replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('');
  let v = spec.validators.get(fragment);
  if (!v) {
    v = spec.ajv.compile({ $ref: `${spec.id}#${fragment}` });
    spec.validators.set(fragment, v);
  }
  return v;
}

function describeErrors(errors, data, root = '(body)') {
  return (errors ?? []).slice(0, 8).map((e) => {
    const at = e.instancePath || root;
    let got = e.instancePath.split('/').slice(1).reduce((a, k) => a?.[decodeURIComponent(k)], data);
    if (e.instancePath === '') got = undefined;
    const extra = e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}`
      : e.params?.allowedValue !== undefined ? ` ${JSON.stringify(e.params.allowedValue)}`
        : e.params?.missingProperty ? ` '${e.params.missingProperty}'`
          : e.params?.additionalProperty ? ` '${e.params.additionalProperty}'` : '';
    const shown = got === undefined ? '' : ` (got ${JSON.stringify(got)?.slice(0, 80)})`;
    return `${at} ${e.message}${extra}${shown}`;
  }).join('; ');
}

// Ajv's errors as one line. When the body's schema is (a $ref to) a
// oneOf that no alternative matched, Ajv lists every alternative's
// errors in one heap; then only the nearest alternative's (fewest
// errors) are shown, named.
function explain(spec, keys, data, errors) {
  let node = keys.reduce((a, k) => a?.[k], spec.doc);
  let at = keys;
  for (let i = 0; node?.$ref && i < 16; i++) {
    at = refKeys(node.$ref);
    node = at.reduce((a, k) => a?.[k], spec.doc);
  }
  const top = errors?.find((e) => e.keyword === 'oneOf' && e.instancePath === '');
  if (!top || !Array.isArray(node?.oneOf)) return describeErrors(errors, data);
  const tries = node.oneOf.map((alt, n) => {
    const v = validator(spec, [...at, 'oneOf', String(n)]);
    v(data);
    const name = alt.$ref ? refKeys(alt.$ref).at(-1) : alt.title ?? `#${n}`;
    return { name, errors: v.errors ?? [] };
  }).sort((a, b) => a.errors.length - b.errors.length);
  return `matches none of ${node.oneOf.length} alternatives; nearest, ${tries[0].name}: ${describeErrors(tries[0].errors, data)}`;
}

// A getter over a Headers object or a plain object of headers.
function headerReader(headers) {
  if (headers && typeof headers.get === 'function') {
    return {
      get: (n) => headers.get(n),
      all: (n) => (n.toLowerCase() === 'set-cookie' && headers.getSetCookie
        ? headers.getSetCookie() : [headers.get(n)].filter((v) => v !== null)),
    };
  }
  const lower = Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    get: (n) => {
      const v = lower[n.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
    },
    all: (n) => {
      const v = lower[n.toLowerCase()];
      return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
    },
  };
}

// Checks one response. spec: a loadSpec() result or a document name;
// target: a path template, a path, or a URL; headers: a Headers object or
// a plain object; body: the body text (JSON is parsed here), an already
// parsed value, or undefined when not read (then it is not checked).
// Throws a ContractError saying what is wrong; returns the operation's
// "METHOD template" (or "unrouted ...") when all is well.
export function checkResponse(spec, method, target, status, headers, body) {
  if (typeof spec === 'string') spec = loadSpec(spec);
  method = method.toUpperCase();
  const path = /^[a-z]+:\/\//i.test(target) ? new URL(target).pathname : target;
  const template = matchPath(spec, path);
  const item = template ? spec.doc.paths[template] : null;
  let op = item ? item[method.toLowerCase()] : null;
  if (item && !op && method === 'HEAD') op = item.get; // a GET route answers HEAD
  let responses;
  let keys;
  let where;
  if (op) {
    const m = item[method.toLowerCase()] ? method.toLowerCase() : 'get';
    responses = op.responses;
    keys = ['paths', template, m, 'responses'];
    where = `${method} ${template}`;
  } else {
    const kind = item ? 'method' : 'path';
    responses = spec.doc['x-federizer-unrouted']?.[kind];
    keys = ['x-federizer-unrouted', kind];
    where = `${method} ${path} (${item ? `${template} has no ${method}` : 'no such path'})`;
    if (!responses) throw new ContractError(spec, where, 'not documented, and the document has no x-federizer-unrouted answer for it');
  }
  const code = String(status);
  const key = [code, `${code[0]}XX`, `${code[0]}xx`, 'default'].find((k) => responses?.[k] !== undefined);
  if (key === undefined) {
    throw new ContractError(spec, where, `status ${status} is not documented (documented: ${Object.keys(responses ?? {}).join(', ')})`);
  }
  where = `${where} → ${status}`;
  const { obj: resp, keys: respKeys } = follow(spec, responses[key], [...keys, key]);
  const h = headerReader(headers);

  // Headers: required ones present; every documented one present is valid.
  for (const [name, hdrRaw] of Object.entries(resp.headers ?? {})) {
    const { obj: hdr, keys: hdrKeys } = follow(spec, hdrRaw, [...respKeys, 'headers', name]);
    const values = h.all(name);
    if (values.length === 0) {
      if (hdr.required) throw new ContractError(spec, where, `required header ${name} is missing`);
      continue;
    }
    if (!hdr.schema) continue;
    const v = validator(spec, [...hdrKeys, 'schema']);
    for (const value of values) {
      if (!v(value)) {
        throw new ContractError(spec, where, `header ${name}: ${describeErrors(v.errors, value, JSON.stringify(value))}`);
      }
    }
  }

  // Body.
  if (body === undefined || method === 'HEAD') return where;
  const contentType = (h.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const empty = body === '' || body === null;
  if (!resp.content || Object.keys(resp.content).length === 0) {
    if (!empty) throw new ContractError(spec, where, `a body (${contentType || 'no Content-Type'}) where none is documented`);
    return where;
  }
  const media = Object.keys(resp.content).find((m) => m.toLowerCase() === contentType) ??
    Object.keys(resp.content).find((m) => m.endsWith('/*') && contentType.startsWith(m.slice(0, -1))) ??
    (resp.content['*/*'] ? '*/*' : undefined);
  if (!media) {
    throw new ContractError(spec, where, `Content-Type ${JSON.stringify(contentType || null)} is not documented (documented: ${Object.keys(resp.content).join(', ')})`);
  }
  if (!resp.content[media].schema) return where;
  let data = body;
  if (typeof body === 'string' && /^application\/(.+\+)?json$/.test(media)) {
    try {
      data = JSON.parse(body);
    } catch (e) {
      throw new ContractError(spec, where, `body is not JSON: ${e.message}: ${body.slice(0, 120)}`);
    }
  }
  // YAML (a Placeholder document): the failsafe schema, every scalar a
  // string, as the document model reads it.
  if (typeof body === 'string' && /^(application|text)\/(x-)?yaml$/.test(media)) {
    try {
      data = YAML.parse(body, { schema: 'failsafe', uniqueKeys: true });
    } catch (e) {
      throw new ContractError(spec, where, `body is not YAML: ${e.message}`);
    }
  }
  const v = validator(spec, [...respKeys, 'content', media, 'schema']);
  if (!v(data)) throw new ContractError(spec, where, `body ${explain(spec, [...respKeys, 'content', media, 'schema'], data, v.errors)}`);
  return where;
}

// Every response example of the document checked against its schema as
// a response body would be (so the claims of example tokens too):
// a list of "where: what" lines, empty when all pass.
export function checkExamples(spec) {
  if (typeof spec === 'string') spec = loadSpec(spec);
  const out = [];
  for (const [template, item] of Object.entries(spec.doc.paths ?? {})) {
    for (const m of METHODS) {
      for (const [code, raw] of Object.entries(item[m]?.responses ?? {})) {
        const { obj: resp, keys } = follow(spec, raw, ['paths', template, m, 'responses', code]);
        for (const [media, mt] of Object.entries(resp.content ?? {})) {
          for (const [name, exRaw] of Object.entries(mt.examples ?? {})) {
            const ex = follow(spec, exRaw, []).obj;
            const v = validator(spec, [...keys, 'content', media, 'schema']);
            if (!v(ex.value)) {
              out.push(`${m.toUpperCase()} ${template} ${code} ${name}: ${explain(spec, [...keys, 'content', media, 'schema'], ex.value, v.errors)}`);
            }
          }
        }
      }
    }
  }
  return out;
}

// Reads a fetch Response's body from a clone (the caller's copy stays
// unread) and checks it; streams nothing larger than maxBytes into memory
// (bigger bodies are checked for status and headers only).
export async function checkFetchResponse(spec, method, url, res, { maxBytes = 4 << 20 } = {}) {
  const length = Number(res.headers.get('content-length') ?? 0);
  let body;
  if (method.toUpperCase() !== 'HEAD' && length <= maxBytes) body = await res.clone().text();
  const where = checkResponse(spec, method, url, res.status, res.headers, body);
  if (process.env.FZ_CONTRACT_LOG) appendFileSync(process.env.FZ_CONTRACT_LOG, `${typeof spec === 'string' ? spec : spec.name}: ${where}\n`);
  return where;
}
