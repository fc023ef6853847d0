// proto2 `required` fields (editions LEGACY_REQUIRED) in the binary encoding: generated
// code passes `checkRequired` to `messageType` for the messages that have some, so apps
// without them do not bundle the check. (The JSON mapping checks them itself.)

import type { FieldInfo, MessageType } from "../message.js";
import { requiredNotSet } from "./fields.js";

/**
 * Throws ProtobufError when a required field of `message` is unset: the one with the
 * lowest field number, as @bufbuild/protobuf reports it.
 */
export function checkRequired(type: MessageType<any>, message: Record<string, unknown>): void {
  let missing: FieldInfo | undefined;
  for (const f of type.fields) {
    if (f.req === true && message[f.name] === undefined && (missing === undefined || f.no < missing.no)) missing = f;
  }
  if (missing !== undefined) throw requiredNotSet(type, missing, "binary");
}
