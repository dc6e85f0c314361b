export {
  crdSchema,
  customResourceDefinition,
  customResourceDefinitions,
  EDDY_CRD_LABEL,
  toStructural,
} from './crd.js';
export { type CrdNames, crdKinds, crdNames, isCoreKind, kindForResource } from './crd-names.js';
export {
  applyStructuralDefaults,
  type JsonSchemaProps,
  structuralProblems,
  valueProblems,
} from './structural.js';
export { formatProblemWithoutLocation, type ObjectValidation, validateObject } from './validate-object.js';
