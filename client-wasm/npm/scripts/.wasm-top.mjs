import binaryen from "binaryen"; import {readFileSync, writeFileSync} from "fs"; import {execFileSync} from "child_process";
binaryen.setDebugInfo(true);
const built = process.argv[2];
const mod=binaryen.readBinary(readFileSync(built));
const F = binaryen.Features;
mod.setFeatures(F.BulkMemory | F.NontrappingFPToInt | F.SignExt | F.MutableGlobals | F.ReferenceTypes | F.Multivalue);
const TRAPPED = [/4core9panicking9panic_fmt$/, /rust_begin_unwind$/, /9panicking15panic_with_hook$/, /5alloc8rust_oom$/, /__rust_alloc_error_handler$/, /5alloc18handle_alloc_error$/];
const todo=[]; for (let i = 0; i < mod.getNumFunctions(); i++) {
  const f = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
  if (f.module === "" && TRAPPED.some((re) => re.test(f.name))) todo.push(f);
}
for (const f of todo) { mod.removeFunction(f.name); mod.addFunction(f.name, f.params, f.results, f.vars, mod.unreachable()); }
writeFileSync("/tmp/t.wasm", mod.emitBinary());
execFileSync("node_modules/.bin/wasm-opt", ["/tmp/t.wasm","-o","/tmp/t2.wasm","-Oz","--converge","-g","--enable-bulk-memory","--enable-nontrapping-float-to-int","--enable-sign-ext","--enable-mutable-globals","--enable-reference-types","--enable-multivalue"]);
const m2=binaryen.readBinary(readFileSync("/tmp/t2.wasm"));
const sizes=[];
for (let i=0;i<m2.getNumFunctions();i++){const f=binaryen.getFunctionInfo(m2.getFunctionByIndex(i)); if(f.body) sizes.push([binaryen.emitText(f.body).length, f.name]);}
sizes.sort((a,b)=>b[0]-a[0]); for (const s of sizes.slice(0,+process.argv[3]||40)) console.log(s[0], s[1].slice(0,140));
console.log("total fns", sizes.length);
for (let i=0;i<m2.getNumMemorySegments?.();i++){}
