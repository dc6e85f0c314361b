export const packageName = '@eddy/serving';
