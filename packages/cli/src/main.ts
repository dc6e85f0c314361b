#!/usr/bin/env -S node --max-semi-space-size=16
// The version check runs before anything else is loaded: the embedded event log needs node:sqlite
// (Node >= 22.5; the project pins 24), and an older Node would otherwise fail with a module-loader
// stack trace instead of one line saying what to do.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 5)) {
  process.stderr.write(
    `eddy: needs Node.js 24 (>= 22.5 for node:sqlite), this is ${process.version}; run ./eddy from the repository root, which installs Node 24 into .tools/, or \`source scripts/bootstrap.sh\` first\n`,
  );
  process.exit(2);
}
const { run } = await import('./program.js');
process.exitCode = await run(process.argv.slice(2));
