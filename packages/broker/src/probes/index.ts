export {
  eventLogHealth,
  PROBE_PATHS,
  type ProbeResult,
  type ProbeServer,
  type Probes,
  registerProbeRoutes,
  startProbeServer,
} from './probes.js';
