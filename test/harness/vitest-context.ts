// Values the global setup hands to every test file through vitest's provide/inject.
// Importing this file (global-setup.ts does; tsconfig.tests.json includes it) types `inject`.
export interface KafkaProvidedContext {
  /** Bootstrap servers (`host:port`) of the Kafka shared by the whole test run. */
  kafkaBrokers: string[];
}

export interface SqsProvidedContext {
  /** `http://127.0.0.1:<port>` of the SQS-compatible server (ElasticMQ) shared by the run. */
  sqsEndpoint: string;
  /** The region to configure SQS clients with; it is also the one in the server's queue ARNs. */
  sqsRegion: string;
}

export interface PubSubProvidedContext {
  /** `host:port` of the Pub/Sub fake (pstest) shared by the run, as PUBSUB_EMULATOR_HOST holds it. */
  pubsubEmulatorHost: string;
  pubsubProjectId: string;
}

export interface KubernetesProvidedContext {
  /**
   * The Kubernetes test cluster shared by the run (kube-apiserver with a kwok node): its admin
   * kubeconfig, its `https://127.0.0.1:<port>` and the folder with kubectl, helm and the rest.
   * `kubectlFor(inject('kubernetes'))` from kubernetes.ts runs kubectl against it.
   */
  kubernetes: { kubeconfigPath: string; server: string; binDir: string };
}

declare module 'vitest' {
  export interface ProvidedContext
    extends KafkaProvidedContext,
      SqsProvidedContext,
      PubSubProvidedContext,
      KubernetesProvidedContext {}
}
