// The system-test harness in one import:
//   import { makeTestEnv, AsServer, runFederizer } from './lib/index.mjs';
export { makePki } from './pki.mjs';
export { makeFetch, makeLookup, TEST_NAME } from './net.mjs';
export {
  AsServer, FZ_BIN, freePort, makeTestEnv, runFederizer, SLOWDOWN, VALGRIND, waitFor,
} from './federizer.mjs';
export { checkExamples, checkResponse, ContractError, documentedRoutes, loadSpec } from './contract.mjs';
export { MbxServer } from './mbx.mjs';
