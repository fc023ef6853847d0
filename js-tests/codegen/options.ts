// Custom options and descriptor reflection (`descriptors=embed`): every custom option of
// protos/codegen/options.proto (files, messages, fields, oneofs, enums, enum values,
// extensions, services, methods) read back with getOption from the embedded descriptor,
// and compared with what @bufbuild/protobuf's getOption reads from its own generated code
// for the same proto; the registry by name; and bundles that leave reflection out.

import assert from "node:assert/strict";
import * as es from "@bufbuild/protobuf";
import { getExtension, type Extension } from "grpcweb-client";
import { FieldOptions } from "grpcweb-client/wkt";
import {
  createFileRegistry,
  getOption,
  hasOption,
  type AnyDesc,
  type DescEnum,
  type DescMessage,
  type FileDesc,
} from "grpcweb-client/reflect";
import * as ours from "./out/ours-desc/codegen/options_pb.js";
import * as esO from "./out/es/codegen/options_pb.js";
import { bundleApp } from "./bundle.js";

type Obj = Record<string, any>;

/** Our custom options and protobuf-es's, paired. */
const OPTIONS: Array<[Extension<any, any>, es.DescExtension]> = [
  [ours.fileLabel, esO.file_label],
  [ours.messageRule, esO.message_rule],
  [ours.messageFlag, esO.message_flag],
  [ours.fieldMax, esO.field_max],
  [ours.fieldLevels, esO.field_levels],
  [ours.fieldRule, esO.field_rule],
  [ours.oneofLabel, esO.oneof_label],
  [ours.enumLevel, esO.enum_level],
  [ours.valueLabel, esO.value_label],
  [ours.serviceVersion, esO.service_version],
  [ours.methodRule, esO.method_rule],
  [ours.methodCost, esO.method_cost],
];

/** The options message each element kind's options extend (ours and protobuf-es's kinds). */
const EXTENDEE: Record<string, string> = {
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

/** Every element of a file (ours or protobuf-es's, whose shapes agree here), by a path. */
function elements(file: Obj): Array<[string, Obj]> {
  const out: Array<[string, Obj]> = [["file", file]];
  const enumOf = (e: Obj, at: string): void => {
    out.push([at, e]);
    for (const v of e.values) out.push([`${at}/${v.name}`, v]);
  };
  const messageOf = (m: Obj, at: string): void => {
    out.push([at, m]);
    for (const f of m.fields) out.push([`${at}.${f.name}`, f]);
    for (const o of m.oneofs) out.push([`${at}|${o.name}`, o]);
    for (const n of m.nestedMessages) messageOf(n, `${at}.${n.name}`);
    for (const n of m.nestedEnums) enumOf(n, `${at}.${n.name}`);
    for (const x of m.nestedExtensions) out.push([`${at}.${x.name}`, x]);
  };
  for (const m of file.messages) messageOf(m, m.name);
  for (const e of file.enums) enumOf(e, e.name);
  for (const x of file.extensions) out.push([x.name, x]);
  for (const s of file.services) {
    out.push([s.name, s]);
    for (const m of s.methods) out.push([`${s.name}/${m.name}`, m]);
  }
  return out;
}

/** A value read by ours and by protobuf-es, comparable (messages as their bytes). */
function comparable(
  ext: Extension<any, any>,
  esExt: es.DescExtension,
  mine: unknown,
  theirs: unknown,
): [unknown, unknown] {
  if (ext.field.kind !== "message") return [mine, theirs];
  const m = esExt.message as es.DescMessage;
  return [ext.field.M!().toBinary(mine), es.toBinary(m, theirs as es.Message)];
}

export const cases: Array<[string, () => void | Promise<void>]> = [
  [
    "custom options: getOption on every element kind equals @bufbuild/protobuf's getOption",
    () => {
      const mine = new Map(elements(ours.file_codegen_options));
      const theirs = elements(esO.file_codegen_options);
      assert.deepEqual([...mine.keys()].sort(), theirs.map(([at]) => at).sort());
      let compared = 0;
      let set = 0;
      for (const [at, esEl] of theirs) {
        const el = mine.get(at) as AnyDesc;
        assert.equal(el.kind, esEl["kind"], at);
        for (const [ext, esExt] of OPTIONS) {
          if (ext.extendee.typeName !== `google.protobuf.${EXTENDEE[el.kind]}`) {
            assert.throws(() => getOption(el, ext), TypeError, `${at} ${ext.typeName}`);
            continue;
          }
          const has = hasOption(el, ext);
          assert.equal(has, es.hasOption(esEl as never, esExt as never), `${at} has ${ext.typeName}`);
          const [a, b] = comparable(ext, esExt, getOption(el, ext), es.getOption(esEl as never, esExt as never));
          assert.deepEqual(a, b, `${at} ${ext.typeName}`);
          compared++;
          if (has) set++;
        }
      }
      // Every option the fixture sets, on each element kind.
      assert.equal(set, 15);
      console.log(`custom options: ${compared} reads on ${theirs.length} elements (${set} set) equal protobuf-es's`);
    },
  ],
  [
    "custom options: values, built-in options, unset defaults",
    () => {
      const reg = createFileRegistry(ours.file_codegen_options);
      const item = reg.getMessage("codegen.opt.Item") as DescMessage;
      assert.deepEqual(getOption(item, ours.messageRule), { pattern: "^item", max: 3, tags: ["a", "b"] });
      assert.equal(getOption(item, ours.messageFlag), true);
      const name = item.field("name")!;
      assert.equal(getOption(name, ours.fieldMax), 9000000000n);
      assert.deepEqual(getOption(name, ours.fieldLevels), [ours.Level.LEVEL_HIGH, ours.Level.LEVEL_UNSPECIFIED]);
      const count = item.field("count")!;
      assert.equal(count.oneof?.name, "choice");
      assert.deepEqual(getOption(count, ours.fieldRule), { pattern: "\\d+", max: -4, tags: [] });
      assert.equal(getOption(count.oneof!, ours.oneofLabel), "pick");
      // Options are extensions of the *Options messages: getExtension reads them too.
      assert.equal(getExtension(name.proto.options ?? FieldOptions.create(), ours.fieldMax), 9000000000n);
      const part = reg.getMessage("codegen.opt.Item.Part")!;
      assert.equal(getOption(part, ours.messageFlag), false);
      assert.equal(hasOption(part, ours.messageFlag), true);
      assert.equal(getOption(part.field("data")!, ours.fieldMax), -1n);
      assert.equal(hasOption(part, ours.messageRule), false);
      assert.deepEqual(getOption(part, ours.messageRule), { tags: [] });
      const mode = reg.getEnum("codegen.opt.Mode") as DescEnum;
      assert.equal(getOption(mode, ours.enumLevel), ours.Level.LEVEL_HIGH);
      assert.deepEqual(
        mode.values.map((v) => [v.name, v.number, getOption(v, ours.valueLabel)]),
        [
          ["MODE_UNSPECIFIED", 0, "none"],
          ["MODE_ON", 1, "on"],
        ],
      );
      assert.equal(getOption(reg.getEnum("codegen.opt.Level")!, ours.enumLevel), ours.Level.LEVEL_UNSPECIFIED);
      const svc = reg.getService("codegen.opt.ItemService")!;
      assert.equal(getOption(svc, ours.serviceVersion), 2);
      const get = svc.method("GetItem")!;
      assert.equal(get.typeName, "codegen.opt.ItemService.GetItem");
      assert.deepEqual(getOption(get, ours.methodRule), { pattern: "get", tags: [] });
      assert.equal(getOption(get, ours.methodCost), 1.5);
      const list = svc.method("ListItems")!;
      assert.equal(list.proto.serverStreaming, true);
      assert.equal(list.proto.options?.idempotencyLevel, 1); // NO_SIDE_EFFECTS, a built-in option
      assert.equal(getOption(list, ours.methodCost), 0);
      assert.equal(getOption(ours.file_codegen_options, ours.fileLabel), "fixture");
      assert.throws(
        () => getOption(item, ours.fieldMax),
        /extends google.protobuf.FieldOptions, not google.protobuf.MessageOptions/,
      );
    },
  ],
  [
    "registry: messages, enums, extensions and services by fully-qualified name",
    () => {
      const file: FileDesc = ours.file_codegen_options;
      // The embedded descriptor leaves out source code info (comments, spans).
      assert.equal(file.proto.sourceCodeInfo, undefined);
      assert.equal(file.name, "codegen/options.proto");
      assert.equal(file.package, "codegen.opt");
      assert.deepEqual(file.proto.dependency, ["google/protobuf/descriptor.proto"]);
      const reg = createFileRegistry(file, file);
      assert.equal(reg.files.length, 1);
      assert.equal(reg.getFile("codegen/options.proto"), file);
      assert.equal(
        reg
          .getMessage("codegen.opt.Rule")
          ?.fields.map((f) => f.name)
          .join(),
        "pattern,max,tags",
      );
      assert.equal(reg.getMessage("codegen.opt.Item.Part")?.typeName, "codegen.opt.Item.Part");
      assert.equal(reg.getEnum("codegen.opt.Level")?.values.length, 2);
      assert.equal(reg.getExtension("codegen.opt.field_max")?.number, 50003);
      assert.equal(reg.getExtension("codegen.opt.field_max")?.extendee, "google.protobuf.FieldOptions");
      assert.equal(reg.getService("codegen.opt.ItemService")?.methods.length, 2);
      assert.equal(reg.get("codegen.opt.Mode")?.kind, "enum");
      // A name of another kind, or unknown, resolves to nothing.
      assert.equal(reg.getMessage("codegen.opt.Mode"), undefined);
      assert.equal(reg.get("codegen.opt.Nope"), undefined);
      assert.deepEqual(
        reg.extensionsOf("google.protobuf.FieldOptions").map((x) => x.name),
        ["field_max", "field_levels", "field_rule"],
      );
      // The registry's names agree with protobuf-es's createFileRegistry.
      const esNames = [...es.createRegistry(esO.file_codegen_options)].map((d) => `${d.kind} ${d.typeName}`);
      assert.equal(esNames.length, 18);
      for (const name of esNames) {
        const [kind, typeName] = name.split(" ") as [string, string];
        assert.equal(reg.get(typeName)?.kind, kind, typeName);
      }
    },
  ],
  [
    "bundles: a message of a descriptors=embed file bundles no reflection; getOption bundles it",
    async () => {
      const app = (module: string): string =>
        `import { Item } from "${module}";\nconsole.log(Item.fromBinary(Item.toBinary(Item.create())));\n`;
      const plain = await bundleApp(app("./out/ours/codegen/options_pb.js"));
      const embed = await bundleApp(app("./out/ours-desc/codegen/options_pb.js"));
      assert.equal(embed.min, plain.min);
      assert.doesNotMatch(embed.text, /FileDescriptorProto|ChVjb2RlZ2Vu/);
      const reflect = await bundleApp(
        `import { file_codegen_options, messageFlag } from "./out/ours-desc/codegen/options_pb.js";
import { createFileRegistry, getOption } from "grpcweb-client/reflect";
console.log(getOption(createFileRegistry(file_codegen_options).getMessage("codegen.opt.Item")!, messageFlag));
`,
      );
      assert.match(reflect.text, /ChVjb2RlZ2Vu/);
      console.log(
        `descriptors=embed: a message app ${plain.min} B either way; with getOption and the registry ${reflect.min} B minified, ${reflect.gzip} B gzip`,
      );
    },
  ],
];
