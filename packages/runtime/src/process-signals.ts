// How a data-plane component process (`eddy ingress`, `eddy serving`, ...) answers signals once it
// runs: SIGHUP re-reads a contract file; the first SIGTERM/SIGINT drains (`stop`) and exits 0, or 1
// when the drain failed; a second one while draining ends the process at once (Node's default).

export interface SignalledProcess {
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export function exitOnSignals(
  running: SignalledProcess,
  logger: { info(message: string): void; error(fields: object, message: string): void },
  /** Names the process in the last log line: `<what> stopped`. */
  what: string,
): void {
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: re-reading the contract');
    void running.reload();
  });
  const shutdown = (signal: string) => {
    logger.info(`${signal}: draining`);
    running.stop().then(
      () => {
        logger.info(`${what} stopped`);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, `${what} did not stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
