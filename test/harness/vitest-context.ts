// Values the global setup hands to every test file through vitest's provide/inject.
// Importing this file (global-setup.ts does; tsconfig.tests.json includes it) types `inject`.
export interface KafkaProvidedContext {
  /** Bootstrap servers (`host:port`) of the Kafka shared by the whole test run. */
  kafkaBrokers: string[];
}

declare module 'vitest' {
  export interface ProvidedContext extends KafkaProvidedContext {}
}
