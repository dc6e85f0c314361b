export const packageName = '@eddy/sources';
