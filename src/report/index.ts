// Report writers: results.json, junit.xml, the terminal/CI summary table.
export { writeResultsJson, RESULTS_JSON } from './json.js';
export { writeJUnit, formatJUnit, junitKind, JUNIT_XML } from './junit.js';
export { formatSummaryTable } from './summary.js';
export { xmlText, xmlAttr } from './xml.js';
