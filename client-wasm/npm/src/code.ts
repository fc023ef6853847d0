// gRPC status codes, with the canonical names of the gRPC spec.
//
// `Code` is an enum to TypeScript (`Code.NOT_FOUND` is 5, `Code[5]` is "NOT_FOUND", and
// `Code` and `Code.NOT_FOUND` are types), built at run time from one list of names: a
// TypeScript `enum` compiles to a statement per member, which bundlers can neither shrink
// nor drop. The runtime passes codes as numbers, the name in a comment.

/** The gRPC status codes, as TypeScript sees `Code`. */
declare enum CodeEnum {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** A gRPC status code: `Code.NOT_FOUND` is 5, `Code[5]` is "NOT_FOUND". */
export const Code = /*@__PURE__*/ (() => {
  const code: Record<string | number, string | number> = {};
  // In the order of CodeEnum's values.
  "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED"
    .split(" ")
    .forEach((name, i) => (code[(code[name] = i)] = name));
  return code;
})() as unknown as typeof CodeEnum;
/** A gRPC status code. */
export type Code = CodeEnum;
/** The type of each code, as an enum member's (`Code.NOT_FOUND`). */
export declare namespace Code {
  type OK = CodeEnum.OK;
  type CANCELLED = CodeEnum.CANCELLED;
  type UNKNOWN = CodeEnum.UNKNOWN;
  type INVALID_ARGUMENT = CodeEnum.INVALID_ARGUMENT;
  type DEADLINE_EXCEEDED = CodeEnum.DEADLINE_EXCEEDED;
  type NOT_FOUND = CodeEnum.NOT_FOUND;
  type ALREADY_EXISTS = CodeEnum.ALREADY_EXISTS;
  type PERMISSION_DENIED = CodeEnum.PERMISSION_DENIED;
  type RESOURCE_EXHAUSTED = CodeEnum.RESOURCE_EXHAUSTED;
  type FAILED_PRECONDITION = CodeEnum.FAILED_PRECONDITION;
  type ABORTED = CodeEnum.ABORTED;
  type OUT_OF_RANGE = CodeEnum.OUT_OF_RANGE;
  type UNIMPLEMENTED = CodeEnum.UNIMPLEMENTED;
  type INTERNAL = CodeEnum.INTERNAL;
  type UNAVAILABLE = CodeEnum.UNAVAILABLE;
  type DATA_LOSS = CodeEnum.DATA_LOSS;
  type UNAUTHENTICATED = CodeEnum.UNAUTHENTICATED;
}
