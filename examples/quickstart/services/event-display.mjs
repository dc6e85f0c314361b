// event-display: prints every CloudEvent it receives, one line each. The Broker's dead-letter sink
// points at its /dead-letters path, so events that could not be delivered show up here too.
//
//   node examples/quickstart/services/event-display.mjs      (eddy dev starts it with PORT set)
import { serveCloudEvents } from './cloudevents-server.mjs';

serveCloudEvents('event-display', async (event, path) => {
  if (path === '/dead-letters') {
    console.log(
      `[event-display] DEAD LETTER ${event.id}: ${event.knativeerrorcode ?? '?'} from ${event.knativeerrordest ?? '?'}`,
    );
  }
  return 202;
});
