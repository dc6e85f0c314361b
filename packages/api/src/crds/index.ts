export { type CrdNames, crdKinds, crdNames, isCoreKind, kindForResource } from './crd-names.js';
