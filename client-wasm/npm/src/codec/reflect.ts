// Descriptor reflection (`grpcweb-client/reflect`): the file descriptors that generated
// code embeds with the plugin option `descriptors=embed`, a view of their elements
// (messages, fields, oneofs, enums, values, extensions, services, methods), custom
// options read from them (`getOption`), and a registry that resolves them by
// fully-qualified name (`createFileRegistry`). Custom options are extensions of
// google.protobuf.*Options: their values stay in the options' unknown fields, which the
// extension functions read. The descriptor.proto types come from ../wkt, so this module
// is a separate entry point: apps that do not embed descriptors bundle none of it.

import type { Extension } from "../message.js";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  type EnumValueDescriptorProto,
  type FieldDescriptorProto,
  FileDescriptorProto,
  type MethodDescriptorProto,
  type OneofDescriptorProto,
  type ServiceDescriptorProto,
} from "../wkt/google/protobuf/descriptor_pb.js";
import { base64Decode } from "./base64.js";
import { getExtension, hasExtension } from "./extension.js";

/** A .proto file: what `export const file_a_b` holds (decoded on first use). */
export interface FileDesc {
  readonly kind: "file";
  /** The path, `a/b.proto`. */
  readonly name: string;
  /** The package, `""` when none. */
  readonly package: string;
  /** The descriptor as protoc sent it, without source code info. */
  readonly proto: FileDescriptorProto;
  /** Top-level declarations. */
  readonly messages: readonly DescMessage[];
  readonly enums: readonly DescEnum[];
  readonly extensions: readonly DescExtension[];
  readonly services: readonly DescService[];
}

interface Named<K extends string, P> {
  readonly kind: K;
  /** Fully-qualified name, `pkg.Outer.Inner`. */
  readonly typeName: string;
  /** The simple name. */
  readonly name: string;
  readonly proto: P;
  readonly file: FileDesc;
}

export interface DescMessage extends Named<"message", DescriptorProto> {
  readonly fields: readonly DescField[];
  readonly oneofs: readonly DescOneof[];
  readonly nestedMessages: readonly DescMessage[];
  readonly nestedEnums: readonly DescEnum[];
  readonly nestedExtensions: readonly DescExtension[];
  /** A field by its .proto name. */
  field(name: string): DescField | undefined;
}

export interface DescField extends Named<"field", FieldDescriptorProto> {
  readonly parent: DescMessage;
  readonly number: number;
  /** The oneof the field belongs to. */
  readonly oneof: DescOneof | undefined;
}

export interface DescOneof extends Named<"oneof", OneofDescriptorProto> {
  readonly parent: DescMessage;
}

export interface DescEnum extends Named<"enum", EnumDescriptorProto> {
  readonly values: readonly DescEnumValue[];
  /** A value by its .proto name. */
  value(name: string): DescEnumValue | undefined;
}

export interface DescEnumValue extends Named<"enum_value", EnumValueDescriptorProto> {
  readonly parent: DescEnum;
  readonly number: number;
}

export interface DescExtension extends Named<"extension", FieldDescriptorProto> {
  readonly number: number;
  /** The message it extends, `.pkg.Foo` as in the descriptor without the dot. */
  readonly extendee: string;
}

export interface DescService extends Named<"service", ServiceDescriptorProto> {
  readonly methods: readonly DescMethod[];
  /** A method by its .proto name. */
  method(name: string): DescMethod | undefined;
}

export interface DescMethod extends Named<"rpc", MethodDescriptorProto> {
  readonly parent: DescService;
}

/** Any element whose options `getOption` reads. */
export type AnyDesc =
  FileDesc | DescMessage | DescField | DescOneof | DescEnum | DescEnumValue | DescExtension | DescService | DescMethod;

/** The options message each element kind's custom options extend. */
const OPTIONS: Record<AnyDesc["kind"], string> = {
  file: "FileOptions",
  message: "MessageOptions",
  field: "FieldOptions",
  extension: "FieldOptions",
  oneof: "OneofOptions",
  enum: "EnumOptions",
  enum_value: "EnumValueOptions",
  service: "ServiceOptions",
  rpc: "MethodOptions",
};

function checkExtendee(element: AnyDesc, option: Extension): void {
  const want = `google.protobuf.${OPTIONS[element.kind]}`;
  if (option.extendee.typeName !== want) {
    throw new TypeError(
      `option ${option.typeName} extends ${option.extendee.typeName}, not ${want} (a ${element.kind})`,
    );
  }
}

/**
 * The value of a custom option on an element (its default when unset, as
 * `getExtension` reads it): `getOption(registry.getMessage("pkg.Foo")!, myOption)`.
 * Throws TypeError when the option extends the options of another element kind.
 */
export function getOption<V>(element: AnyDesc, option: Extension<any, V>): V {
  checkExtendee(element, option);
  return getExtension(element.proto.options ?? {}, option);
}

/** Whether a custom option is set on an element. */
export function hasOption(element: AnyDesc, option: Extension): boolean {
  checkExtendee(element, option);
  const options = element.proto.options;
  return options !== undefined && hasExtension(options, option);
}

function join(scope: string, name: string): string {
  return scope === "" ? name : `${scope}.${name}`;
}

function named<K extends string, P extends { name?: string }>(
  kind: K,
  scope: string,
  proto: P,
  file: FileDesc,
): Named<K, P> {
  const name = proto.name ?? "";
  return { kind, typeName: join(scope, name), name, proto, file };
}

function enumDesc(proto: EnumDescriptorProto, scope: string, file: FileDesc): DescEnum {
  const values: DescEnumValue[] = [];
  const e: DescEnum = {
    ...named("enum", scope, proto, file),
    values,
    value: (name) => values.find((v) => v.name === name),
  };
  // Enum values are scoped next to their enum, as in C++.
  for (const v of proto.value)
    values.push({ ...named("enum_value", scope, v, file), parent: e, number: v.number ?? 0 });
  return e;
}

function extensionDesc(proto: FieldDescriptorProto, scope: string, file: FileDesc): DescExtension {
  return {
    ...named("extension", scope, proto, file),
    number: proto.number ?? 0,
    extendee: (proto.extendee ?? "").replace(/^\./, ""),
  };
}

function messageDesc(proto: DescriptorProto, scope: string, file: FileDesc): DescMessage {
  const base = named("message", scope, proto, file);
  const fields: DescField[] = [];
  const oneofs: DescOneof[] = [];
  const m: DescMessage = {
    ...base,
    fields,
    oneofs,
    nestedMessages: proto.nestedType.map((n) => messageDesc(n, base.typeName, file)),
    nestedEnums: proto.enumType.map((n) => enumDesc(n, base.typeName, file)),
    nestedExtensions: proto.extension.map((n) => extensionDesc(n, base.typeName, file)),
    field: (name) => fields.find((f) => f.name === name),
  };
  for (const o of proto.oneofDecl) oneofs.push({ ...named("oneof", base.typeName, o, file), parent: m });
  for (const f of proto.field) {
    const oneof = f.oneofIndex === undefined ? undefined : oneofs[f.oneofIndex];
    fields.push({ ...named("field", base.typeName, f, file), parent: m, number: f.number ?? 0, oneof });
  }
  return m;
}

function serviceDesc(proto: ServiceDescriptorProto, scope: string, file: FileDesc): DescService {
  const methods: DescMethod[] = [];
  const s: DescService = {
    ...named("service", scope, proto, file),
    methods,
    method: (name) => methods.find((x) => x.name === name),
  };
  for (const x of proto.method) methods.push({ ...named("rpc", s.typeName, x, file), parent: s });
  return s;
}

type Parts = Omit<FileDesc, "kind">;

/**
 * The descriptor of a file from its embedded form (generated code calls this with the
 * base64 of its FileDescriptorProto). Nothing is decoded until first use.
 */
export function fileDesc(data: string): FileDesc {
  let parts: Parts | undefined;
  const get = (): Parts => {
    if (parts !== undefined) return parts;
    const proto = FileDescriptorProto.fromBinary(base64Decode(data));
    const pkg = proto.package ?? "";
    parts = {
      name: proto.name ?? "",
      package: pkg,
      proto,
      messages: proto.messageType.map((m) => messageDesc(m, pkg, file)),
      enums: proto.enumType.map((e) => enumDesc(e, pkg, file)),
      extensions: proto.extension.map((e) => extensionDesc(e, pkg, file)),
      services: proto.service.map((s) => serviceDesc(s, pkg, file)),
    };
    return parts;
  };
  const file: FileDesc = {
    kind: "file",
    get name() {
      return get().name;
    },
    get package() {
      return get().package;
    },
    get proto() {
      return get().proto;
    },
    get messages() {
      return get().messages;
    },
    get enums() {
      return get().enums;
    },
    get extensions() {
      return get().extensions;
    },
    get services() {
      return get().services;
    },
  };
  return file;
}
