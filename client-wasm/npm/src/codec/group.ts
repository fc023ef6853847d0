// Groups (proto2 `group`, editions `message_encoding = DELIMITED`): a message field
// written between a start-group and an end-group key instead of with a length. Generated
// code gives such fields this codec (`X: groupField`), so only apps with groups bundle it.

import type { MessageType } from "../message.js";
import { messageTarget, readMessage, writeMessage, wrongWireType } from "./binary.js";
import { WT_END_GROUP, WT_START_GROUP, type FieldCodec } from "./plan.js";

/** The codec of group-encoded message fields, for generated field tables. */
export const groupField: FieldCodec = {
  read(msg, f, r, wt, _start, end, depth) {
    if (wt !== WT_START_GROUP) throw wrongWireType(f, wt);
    // Up to the matching end-group key, within the enclosing message.
    readMessage(f.m as MessageType<any>, messageTarget(msg, f), r, end, f.no, depth + 1);
  },
  write(w, f, v) {
    w.uint32(f.key);
    writeMessage(f.m as MessageType<any>, v, w);
    w.uint32(((f.no << 3) | WT_END_GROUP) >>> 0);
  },
};
