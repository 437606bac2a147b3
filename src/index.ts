// Library API of hcx: everything the CLI does is a call into these modules.
export { native, setThreads, numThreads } from './native/index.js';
