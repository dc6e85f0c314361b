// Loads a third-party package the way plain Node does, also inside vitest workers.
//
// Why: when vitest resolves with the `module` condition (vitest.config.ts no longer sets it) it
// passes it on to the workers' Node (`--conditions module`). Several packages map that condition to a bundler build whose
// extensionless relative imports Node cannot load: @aws-sdk/* (dist-es) and @opentelemetry/api
// (build/esm, used by @google-cloud/pubsub) fail with "Cannot find module .../<file>". A resolve
// hook drops `module` for what this module requires and for everything resolved from inside
// node_modules, so Node picks the same `node`/`require` builds it uses outside vitest. Where the
// condition is not set (the vitest main process, plain node), no hook is installed.
import { createRequire, registerHooks } from 'node:module';

const SELF = import.meta.url;

function conditionsIncludeModule(): boolean {
  const args = process.execArgv;
  return args.some(
    (arg, i) => arg === '--conditions=module' || (arg === '--conditions' && args[i + 1] === 'module'),
  );
}

let hookInstalled = false;

function installHook(): void {
  if (hookInstalled || !conditionsIncludeModule()) return;
  hookInstalled = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL ?? '';
      if (!context.conditions.includes('module') || (parent !== SELF && !parent.includes('/node_modules/'))) {
        return nextResolve(specifier, context);
      }
      return nextResolve(specifier, {
        ...context,
        conditions: context.conditions.filter((c) => c !== 'module'),
      });
    },
  });
}

const require = createRequire(SELF);

/** `require(specifier)` with Node's own package builds; type it with `typeof import(specifier)`. */
export function requireNodeBuild<T>(specifier: string): T {
  installHook();
  return require(specifier) as T;
}
