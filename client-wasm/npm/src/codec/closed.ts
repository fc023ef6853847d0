// Closed enums (proto2, editions `enum_type = CLOSED`) in the binary encoding: a number
// the enum does not declare is not stored in the field but kept with the unknown fields,
// as protobuf's other runtimes do. Generated code gives such fields this reader
// (`X: closedEnum`), so only apps with closed enums bundle it; they are written as any
// enum field is. (Map values of a closed enum are checked by ./map.ts.)

import type { EnumType } from "../message.js";
import { addUnknown, packedOverrun, setScalar, wrongWireType } from "./binary.js";
import { WT_LEN, WT_VARINT, type FieldCodec } from "./plan.js";
import { Writer } from "./writer.js";

/** The reader of closed-enum fields, for generated field tables. */
export const closedEnum: FieldCodec = {
  read(msg, f, r, wt, start) {
    const names = (f.f.E as () => EnumType)().names;
    if (f.f.repeated === true && wt === WT_LEN) {
      // Packed: each unknown number becomes an unknown varint field of its own.
      const n = r.length();
      const stop = r.pos + n;
      const list = msg[f.name] as number[];
      while (r.pos < stop) {
        const v = r.int32();
        if (names.has(v)) list.push(v);
        else {
          const w = new Writer().uint32(f.no << 3).int32(v);
          addUnknown(msg, w.buf.subarray(0, w.pos));
        }
      }
      if (r.pos !== stop) throw packedOverrun(f);
      return;
    }
    if (wt !== WT_VARINT) throw wrongWireType(f, wt);
    const v = r.int32();
    if (names.has(v)) setScalar(msg, f, v);
    else addUnknown(msg, r.span(start));
  },
};
