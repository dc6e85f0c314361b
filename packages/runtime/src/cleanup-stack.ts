// Shutdown steps of a long-running host (`eddy dev`, `eddy controller`), registered as its parts start
// and run in reverse order: what started last stops first, and one failing step does not keep the
// others from running.

export type CleanupStep = () => Promise<void> | void;

export interface CleanupStack {
  push(step: CleanupStep): void;
  /** Runs every step pushed so far, newest first, each once; errors go to `onError`. */
  run(): Promise<void>;
}

export function cleanupStack(onError: (error: unknown) => void): CleanupStack {
  const steps: CleanupStep[] = [];
  return {
    push: (step) => {
      steps.push(step);
    },
    run: async () => {
      for (const step of steps.splice(0).reverse()) {
        try {
          await step();
        } catch (error) {
          onError(error);
        }
      }
    },
  };
}
