// Topics and subscriptions on the harness's Pub/Sub server (pstest) for PubSubSource tests. Not
// exported from the package index; tests import it by path.

import { sleep } from '@eddy/runtime';
import type { Message, PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { uniqueName } from './unique-name.js';

export interface PubSubTestTopics {
  /** A new topic with a new subscription on it (ack deadline 10 s). */
  topicWithSubscription(): Promise<{ topic: Topic; subscription: string }>;
  /** The messages a plain subscriber gets from `subscription` within `ms` (acked). */
  drain(subscription: string, ms: number): Promise<Message[]>;
}

/** `client()`: the test's Pub/Sub client (made by the harness's SDK build). */
export function pubsubTestTopics(client: () => PubSub): PubSubTestTopics {
  return {
    async topicWithSubscription() {
      const [topic] = await client().createTopic(uniqueName('pst'));
      const subscription = uniqueName('pss');
      await topic.createSubscription(subscription, { ackDeadlineSeconds: 10 });
      return { topic, subscription };
    },
    async drain(subscription, ms) {
      const sub: Subscription = client().subscription(subscription);
      const got: Message[] = [];
      sub.on('message', (m: Message) => {
        got.push(m);
        m.ack();
      });
      await sleep(ms);
      await sub.close();
      return got;
    },
  };
}
