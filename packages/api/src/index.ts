export const packageName = '@eddy/api';
