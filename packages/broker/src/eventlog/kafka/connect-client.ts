// The kafkajs admin and producer are connected on first use and the connecting promise is shared
// by every caller. A client whose connect failed is disconnected (nothing of the half-done attempt
// lingers) and forgotten, so the next call starts over with a new one instead of the failure.

interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** Connects `client`; on failure disconnects it and hands the failed promise to `forget`. */
export function connectClient<C extends Connectable>(
  client: C,
  forget: (failed: Promise<C>) => void,
): Promise<C> {
  const connecting: Promise<C> = client.connect().then(
    () => client,
    (error: unknown) => {
      forget(connecting);
      void client.disconnect().catch(() => {});
      throw error;
    },
  );
  return connecting;
}
