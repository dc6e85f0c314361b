// The wait-until of @eddy/cli's tests: @eddy/runtime's, with its defaults.
export { type WaitOptions, waitFor } from '@eddy/runtime';
