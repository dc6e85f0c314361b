// Prints vitest's JSON report as one plain closing line ("tests: N passed, N failed, N skipped")
// that CI reads, and fails when the run executed no test at all: a green run of nothing is a defect.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.cache/vitest-report.json';
if (!existsSync(file)) {
  console.error(`test-summary: ${file} not found: vitest did not finish`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
};
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numPassedTests === 0) {
  console.error('test-summary: no test passed');
  process.exit(1);
}
if (report.numFailedTests > 0 || report.numFailedTestSuites > 0) process.exit(1);
