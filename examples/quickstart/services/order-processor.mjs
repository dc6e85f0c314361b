// order-processor: handles order events, taking WORK_MS (default 200) per event so a burst builds a
// backlog that the autoscaler answers with more replicas (see `eddy get services` / `eddy describe
// ksvc order-processor`). An order whose data has "fail": true is refused with 500: the trigger retries
// it, then sends it to the dead-letter sink (event-display's /dead-letters).
import { serveCloudEvents } from './cloudevents-server.mjs';

const workMs = Number(process.env.WORK_MS ?? 200);

serveCloudEvents('order-processor', async (event) => {
  await new Promise((done) => setTimeout(done, workMs));
  if (event.data && typeof event.data === 'object' && event.data.fail === true) {
    throw new Error(`order ${event.id} cannot be processed`);
  }
  return 202;
});
