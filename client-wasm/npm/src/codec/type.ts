// The factory generated code calls for each message, plus a simple type registry.

import type { Extension, FieldDecl, FieldInfo, MessageType, PartialMessage, TypeRegistry } from "../message.js";
import { fromBinary, toBinary } from "./binary.js";
import { create } from "./fields.js";

/**
 * Builds the codec object of a message from its field table. The table is a thunk so
 * that messages can refer to each other (and to themselves) in any order. `check` runs
 * before the message is written to binary (generated code passes `checkRequired` for
 * messages with proto2 `required` fields). The object
 * refers to the binary codec only: JSON, equals and clone are free functions (./json.ts,
 * ./fields.ts) that a bundler leaves out of apps that do not call them.
 */
export function messageType<T extends object>(
  typeName: string,
  fields: () => FieldDecl[],
  check?: (type: MessageType<any>, message: any) => void,
): MessageType<T> {
  let table: readonly FieldInfo[] | undefined;
  // The codec's caches ($c: create template, $b: binary plan) start empty, so that every
  // type object has the same shape from the start; $r is the check run before writing
  // (`checkRequired` for messages with proto2 required fields).
  const type = {
    $c: undefined,
    $b: undefined,
    $r: check,
    typeName,
    get fields(): readonly FieldInfo[] {
      return (table ??= fields().map((f): FieldInfo => ({
        ...f,
        kind:
          f.kind ?? (f.K !== undefined ? "map" : f.M !== undefined ? "message" : f.E !== undefined ? "enum" : "scalar"),
        proto: f.proto ?? f.name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()),
        json: f.json ?? f.name,
      })));
    },
    create: (init?: PartialMessage<T>): T => create(type, init as Record<string, any> | undefined) as T,
    toBinary: (message: T): Uint8Array => toBinary(type, message as Record<string, any>),
    fromBinary: (bytes: Uint8Array): T => fromBinary(type, bytes),
  } as MessageType<T>;
  return type;
}

/**
 * A TypeRegistry over the given message types (for Any in JSON) and extensions (for their
 * `"[pkg.ext]"` keys in JSON: `toJson` writes the extensions of a message that the
 * registry has, `fromJson` reads them).
 */
export function createRegistry(...types: ReadonlyArray<MessageType<any> | Extension<any, any>>): TypeRegistry {
  const messages = new Map<string, MessageType<unknown>>();
  const extensions = new Map<string, Extension>();
  for (const t of types) {
    if ("extendee" in t) extensions.set(t.typeName, t);
    else messages.set(t.typeName, t);
  }
  return {
    findMessage: (typeName) => messages.get(typeName),
    findExtension: (typeName) => extensions.get(typeName),
    extensionsOf: (extendee) => [...extensions.values()].filter((e) => e.extendee.typeName === extendee),
  };
}
