/** The conformance checker's public API (issue 5). */
export { runChecks, allChecks, selectChecks, randomPrefix } from './run.js';
export { testConnection, connectionMessage } from './connection.js';
export { summaryLine, formatResult, toJUnit } from './report.js';
export { CHECK_GROUPS } from './types.js';
export type {
  CheckGroup,
  CheckReport,
  CheckResult,
  CheckStatus,
  Exchange,
  RecordedRequest,
  RecordedResponse,
  RunChecksOptions,
  TestConnectionResult,
} from './types.js';
