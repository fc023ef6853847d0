// Fields of the `google/protobuf/wrappers.proto` types generated as their plain value
// (plugin option `unwrap_wrappers`): on the wire still a message whose field 1 holds the
// value. Generated code gives such fields this codec (`X: wrapperField`), so only apps
// with them bundle it.

import { isZero, readScalar, writeScalar, wrongWireType } from "./binary.js";
import { scalarWireType, WT_LEN, type FieldCodec } from "./plan.js";
import { scalarZero } from "./fields.js";
import { ProtobufError, type WireType } from "./wire.js";

/** The codec of unwrapped wrapper fields, for generated field tables. */
export const wrapperField: FieldCodec = {
  read(msg, f, r, wt) {
    if (wt !== WT_LEN) throw wrongWireType(f, wt);
    const n = r.length();
    const end = r.pos + n;
    // A second occurrence merges into the first, as two messages do: an absent value
    // keeps the one read before.
    let v = msg[f.name] ?? scalarZero(f.t, f.f.L);
    const key = (1 << 3) | scalarWireType(f.t);
    while (r.pos < end) {
      const k = r.key();
      // Other fields of the wrapper (unknown to it) are dropped, as protobuf-es does.
      if (k === key) v = readScalar(r, f.t, f.L, true, f.W);
      else r.skip((k & 7) as WireType, k >>> 3);
    }
    if (r.pos !== end) throw new ProtobufError(`wrapper field ${f.no} overruns its length`);
    msg[f.name] = v;
  },
  write(w, f, v) {
    w.uint32(((f.no << 3) | WT_LEN) >>> 0);
    const at = w.fork();
    // The wrapped value has implicit presence: its zero value is not written.
    if (!isZero(v, f.W)) {
      w.uint32((1 << 3) | scalarWireType(f.t));
      writeScalar(w, f.t, v, f.W);
    }
    w.join(at);
  },
};
