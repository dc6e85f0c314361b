// YAML for the tests that run eddy dev, in process and spawned: the Broker, Trigger, sink and
// node-run container most of their meshes are made of, so a test's manifest shows what it is about.

export const brokerYaml = (name = 'default') => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: ${name}}
`;

/** `subscriber` is a YAML flow mapping: `{uri: ...}` or a `serviceSubscriber`. */
export const triggerYaml = (
  name: string,
  subscriber: string,
  broker = 'default',
) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: ${name}}
spec:
  broker: ${broker}
  subscriber: ${subscriber}
`;

export const serviceSubscriber = (name: string) =>
  `{ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: ${name}}}`;

/** A source's `spec.sink` (indented for its spec): the Broker `name`. */
export const brokerSink = (name = 'default') => `  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: ${name}}
`;

/**
 * A Service's or ContainerSource's `spec.template` (indented for its spec) with one container that runs
 * `script` with the Node running the test; `more` goes on with that container's fields.
 */
export const nodeTemplate = (script: string, more = '') => `  template:
    spec:
      containers:
        - command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(script)}]
${more}`;
