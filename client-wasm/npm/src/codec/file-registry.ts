// A registry of file descriptors (`descriptors=embed`): every message, enum, extension
// and service of the files it is given, by fully-qualified name, as @bufbuild/protobuf's
// createFileRegistry resolves them. Imports are not followed: pass every file whose
// declarations should resolve.

import type { DescEnum, DescExtension, DescMessage, DescService, FileDesc } from "./reflect.js";

/** Descriptors by fully-qualified name (`pkg.Outer.Inner`, no leading dot). */
export interface FileRegistry {
  /** The files, in the order given. */
  readonly files: readonly FileDesc[];
  getFile(name: string): FileDesc | undefined;
  getMessage(typeName: string): DescMessage | undefined;
  getEnum(typeName: string): DescEnum | undefined;
  getExtension(typeName: string): DescExtension | undefined;
  getService(typeName: string): DescService | undefined;
  /** Any declaration by name (message, enum, extension or service). */
  get(typeName: string): DescMessage | DescEnum | DescExtension | DescService | undefined;
  /** The extensions of a message (`pkg.Foo`) declared in the registry's files. */
  extensionsOf(extendee: string): readonly DescExtension[];
}

type Decl = DescMessage | DescEnum | DescExtension | DescService;

function add(names: Map<string, Decl>, d: Decl): void {
  if (names.has(d.typeName)) throw new TypeError(`duplicate name ${d.typeName} in the registry (${d.file.name})`);
  names.set(d.typeName, d);
  if (d.kind === "message") {
    for (const n of [...d.nestedMessages, ...d.nestedEnums, ...d.nestedExtensions]) add(names, n);
  }
}

/**
 * A registry over the given files (duplicates of one file are ignored; two files that
 * declare one name throw TypeError).
 */
export function createFileRegistry(...files: FileDesc[]): FileRegistry {
  const byName = new Map<string, FileDesc>();
  const names = new Map<string, Decl>();
  for (const f of files) {
    if (byName.has(f.name)) continue;
    byName.set(f.name, f);
    for (const d of [...f.messages, ...f.enums, ...f.extensions, ...f.services]) add(names, d);
  }
  const of =
    <K extends Decl["kind"]>(kind: K) =>
    (typeName: string): Extract<Decl, { kind: K }> | undefined => {
      const d = names.get(typeName);
      return d?.kind === kind ? (d as Extract<Decl, { kind: K }>) : undefined;
    };
  return {
    files: [...byName.values()],
    getFile: (name) => byName.get(name),
    getMessage: of("message"),
    getEnum: of("enum"),
    getExtension: of("extension"),
    getService: of("service"),
    get: (typeName) => names.get(typeName),
    extensionsOf: (extendee) =>
      [...names.values()].filter((d): d is DescExtension => d.kind === "extension" && d.extendee === extendee),
  };
}
