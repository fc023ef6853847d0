// grpcweb-client/reflect: descriptor reflection for code generated with
// `descriptors=embed` (file descriptors, custom options, a registry by name). A separate
// entry point: it brings the descriptor.proto types, which the main entry leaves out.
export {
  fileDesc,
  getOption,
  hasOption,
  type AnyDesc,
  type DescEnum,
  type DescEnumValue,
  type DescExtension,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescOneof,
  type DescService,
  type FileDesc,
} from "./codec/reflect.js";
export { createFileRegistry, type FileRegistry } from "./codec/file-registry.js";
