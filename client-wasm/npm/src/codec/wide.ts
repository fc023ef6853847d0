// The binary codec of the scalar types that binary.ts leaves out: 64-bit integers (int64,
// uint64, fixed64, sfixed64, sint64), fixed32, sfixed32, float and double. Generated code passes it on fields
// of those types and on maps with such keys or values (`W: wideScalar`), so that apps
// whose messages have none do not bundle it.

import type { WideScalar } from "./plan.js";
import { scalarZero } from "./fields.js";
import { readDouble, readFixed32, readFixed64, readFloat, readLong } from "./reader.js";
import { writeDouble, writeFixed32, writeFixed64, writeFloat, writeInt64, writeSint64 } from "./writer.js";

const ZERO = /*@__PURE__*/ BigInt(0);

export const wideScalar: WideScalar = {
  r(r, t, L) {
    switch (t) {
      case 1:
        return readDouble(r);
      case 2:
        return readFloat(r);
      case 3:
        return readLong(r, true, false, L);
      case 4:
        return readLong(r, false, false, L);
      case 6:
        return readFixed64(r, false, L);
      case 7:
        return readFixed32(r);
      case 15:
        return readFixed32(r) | 0;
      case 16:
        return readFixed64(r, true, L);
      default:
        return readLong(r, true, true, L);
    }
  },
  w(w, t, v) {
    switch (t) {
      case 1:
        writeDouble(w, v);
        break;
      case 2:
        writeFloat(w, v);
        break;
      case 3:
      case 4:
        writeInt64(w, v);
        break;
      case 6:
      case 16:
        writeFixed64(w, v);
        break;
      case 7:
      case 15:
        writeFixed32(w, v);
        break;
      default:
        writeSint64(w, v);
    }
  },
  e: (v) => (typeof v === "bigint" ? v === ZERO : typeof v === "string" ? v === "" || v === "0" : v === 0 && 1 / v > 0),
  z: scalarZero,
};
