// Placeholder: replaced by the Kafka harness.
export default async function setup(): Promise<void> {}
