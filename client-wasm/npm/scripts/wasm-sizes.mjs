// Per-function code sizes of a wasm module that has a name section (`npm run build --
// --sizes` writes such a copy of the shipped module): what twiggy's "top" would say, for
// finding where the core's bytes go.

/** LEB128 reader over `b` from `p`: returns [value, next position]. */
function leb(b, p) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = b[p++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, p];
}

const ESCAPES = { $LT$: "<", $GT$: ">", $u20$: " ", $C$: ",", $RF$: "&", $BP$: "*", $u27$: "'" };

/** A legacy-mangled Rust name (`_ZN...17h<hash>E`) made readable; other names as they are. */
export function demangle(name) {
  if (!name.startsWith("_ZN") || !name.endsWith("E")) return name;
  const parts = [];
  for (let p = 3; p < name.length - 1; ) {
    const digits = /^\d+/.exec(name.slice(p))?.[0];
    if (digits === undefined) return name;
    p += digits.length;
    parts.push(name.slice(p, p + Number(digits)));
    p += Number(digits);
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? "")) parts.pop();
  return parts
    .join("::")
    .replace(/\$[A-Za-z0-9]+\$/g, (e) => ESCAPES[e] ?? e)
    .replace(/\.\./g, "::")
    .replace(/(^|::)_</g, "$1<");
}

/**
 * The module's sections (`{ id: bytes }`, custom sections under id 0) and its functions
 * as `{ name, bytes }` (each body with its size prefix), largest first. Assumes no
 * imported functions, as the core has none.
 */
export function wasmSizes(b) {
  const sections = {};
  const bodies = [];
  const names = new Map();
  for (let p = 8; p < b.length; ) {
    const id = b[p];
    const [len, start] = leb(b, p + 1);
    const end = start + len;
    sections[id] = (sections[id] ?? 0) + (end - p);
    if (id === 10) {
      let [count, q] = leb(b, start);
      for (; count > 0; count--) {
        const [size, body] = leb(b, q);
        bodies.push(size + (body - q));
        q = body + size;
      }
    } else if (id === 0) {
      const [nameLen, q] = leb(b, start);
      if (b.subarray(q, q + nameLen).toString() === "name") {
        for (let r = q + nameLen; r < end; ) {
          const sub = b[r];
          const [subLen, s] = leb(b, r + 1);
          if (sub === 1) {
            let [count, t] = leb(b, s);
            for (; count > 0; count--) {
              const [index, u] = leb(b, t);
              const [n, v] = leb(b, u);
              names.set(index, b.subarray(v, v + n).toString());
              t = v + n;
            }
          }
          r = s + subLen;
        }
      }
    }
    p = end;
  }
  const functions = bodies
    .map((bytes, i) => ({ name: demangle(names.get(i) ?? `function ${i}`), bytes }))
    .sort((x, y) => y.bytes - x.bytes);
  return { sections, functions };
}
