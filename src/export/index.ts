// Exports of the suite to other frameworks' forms: `kgate export kselftest`.
export { exportKselftest, exportDir, exportFilter, programName, ksftRange, makefile, configFragment, settingsTimeout, KSFT_TARGET, TREE_SUBDIR } from './kselftest.js';
export type { ExportRequest, ExportResult, ExportedProgram } from './kselftest.js';
