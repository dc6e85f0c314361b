export type { CesqlType, CesqlValue, CesqlWarning } from './ast.js';
export {
  type CesqlAttributes,
  type CesqlCheck,
  type CesqlResult,
  type CompiledCesql,
  checkCesql,
  compileCesql,
} from './compile.js';
export { CesqlCompileError, type CesqlErrorKind, type CesqlEvaluationError } from './errors.js';
export { builtinFunctionNames } from './functions.js';
export { compileLike, type LikeMatcher } from './like.js';
export { parse as parseCesql } from './parser.js';
