export const packageName = '@eddy/cli';
