// proto2 defaults as property reads: `withDefaults(Foo, msg).x` is `msg.x`, or the field's
// `[default = ...]` (else its zero value) when unset, as a protobuf-es message reads it.
// A view over the message, not a copy: later changes to the message show through, and
// presence stays the message's own (encoding the message is unchanged).

import type { FieldInfo, MessageType } from "../message.js";
import { fieldDefault } from "./access.js";

/**
 * Values that read as their default when unset (message fields stay optional; a wrapper
 * field of `unwrap_wrappers` reads as its wrapped value's zero).
 */
type Defaulted = string | number | bigint | boolean | Uint8Array;

/**
 * A message read through `withDefaults`: every scalar and enum field outside a oneof has
 * a value; message fields, oneofs, lists, maps and `$unknown` are as in the message.
 */
export type WithDefaults<T> = Readonly<Omit<T, DefaultedKeys<T>>> & {
  readonly [K in DefaultedKeys<T>]-?: Exclude<T[K], undefined>;
};

/** The properties of T whose values read as their default when unset. */
type DefaultedKeys<T> = {
  [K in keyof T]-?: K extends `$${string}` ? never : Exclude<T[K], undefined> extends Defaulted ? K : never;
}[keyof T];

/**
 * A read-only view of `message` in which unset scalar and enum fields outside oneofs
 * read as their proto2 default (`[default = ...]`) or zero value. Assigning through the
 * view throws TypeError; set fields on the message itself.
 */
export function withDefaults<T extends object>(type: MessageType<T>, message: T): WithDefaults<T> {
  const defaulted = new Map<string, FieldInfo>();
  for (const f of type.fields) {
    // An unwrapped wrapper field (`unwrap_wrappers`) is a scalar field here.
    if (f.oneof === undefined && f.kind !== "map" && f.kind !== "message" && !f.repeated) defaulted.set(f.name, f);
  }
  const readOnly = (): never => {
    throw new TypeError(`withDefaults(${type.typeName}) is read-only: set the field on the message`);
  };
  return new Proxy(message, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key);
      if (v !== undefined || typeof key !== "string") return v;
      const f = defaulted.get(key);
      return f === undefined ? v : fieldDefault(f);
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  }) as unknown as WithDefaults<T>;
}
