import { type SchemaOptions, type TSchema, type TUnsafe, Type } from '@sinclair/typebox';

/** A string enum as a plain JSON Schema `enum`, so ajv reports one clear error instead of an anyOf cascade. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** A Knative/Eddy-defined object: unknown fields are errors (kubectl's strict field validation). */
export function Strict<T extends Parameters<typeof Type.Object>[0]>(
  properties: T,
  options: SchemaOptions = {},
) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/**
 * A Kubernetes core object that Eddy reads only partly (PodSpec, Container, probes): the fields we use are
 * typed, anything else Kubernetes allows is passed through untouched.
 */
export function Lenient<T extends Parameters<typeof Type.Object>[0]>(
  properties: T,
  options: SchemaOptions = {},
) {
  return Type.Object(properties, { ...options, additionalProperties: true });
}

export const StringMap = Type.Record(Type.String(), Type.String());

/** Integer-or-string (Kubernetes IntOrString / resource quantities) without an anyOf cascade in errors. */
export const IntOrString = Type.Unsafe<number | string>({ type: ['integer', 'string'] });
export const NumberOrString = Type.Unsafe<number | string>({ type: ['number', 'string'] });

export type { TSchema };
