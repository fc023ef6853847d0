// Command editions-descriptors writes the protobuf conformance messages of editions
// (test_messages_edition2023.proto, test_messages_proto2_editions.proto and
// test_messages_proto3_editions.proto) as a FileDescriptorSet, with the files they import.
//
// The .proto sources of these files are not in Debian's protobuf; google.golang.org/protobuf
// carries them compiled, as the serialized FileDescriptorProto in a `..._rawDesc` string
// constant of its internal test packages. Those packages cannot be imported from another
// module, so this reads the constant from the .pb.go source: go/parser parses the file and
// go/types evaluates the constant (however the literal is split into pieces). The imports
// (the well-known types) come from this module's own registry.
//
// Usage: go run . OUT.binpb
package main

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	_ "google.golang.org/protobuf/types/known/anypb"
	_ "google.golang.org/protobuf/types/known/durationpb"
	_ "google.golang.org/protobuf/types/known/emptypb"
	_ "google.golang.org/protobuf/types/known/fieldmaskpb"
	_ "google.golang.org/protobuf/types/known/structpb"
	_ "google.golang.org/protobuf/types/known/timestamppb"
	_ "google.golang.org/protobuf/types/known/wrapperspb"
)

// The .pb.go files, relative to the google.golang.org/protobuf module.
var sources = []string{
	"internal/testprotos/conformance/editions/test_messages_edition2023.pb.go",
	"internal/testprotos/conformance/editionsmigration/test_messages_proto2_editions.pb.go",
	"internal/testprotos/conformance/editionsmigration/test_messages_proto3_editions.pb.go",
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: editions-descriptors OUT.binpb")
	}
	// The module this program builds against (go.mod pins it), from the module cache.
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/protobuf").Output()
	if err != nil {
		fail("go list -m google.golang.org/protobuf: %v", err)
	}
	module := strings.TrimSpace(string(dir))
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	for _, src := range sources {
		file, err := rawDesc(filepath.Join(module, src))
		if err != nil {
			fail("%s: %v", src, err)
		}
		for _, dep := range file.GetDependency() {
			if err := addImport(set, seen, dep); err != nil {
				fail("%s: %v", src, err)
			}
		}
		seen[file.GetName()] = true
		set.File = append(set.File, file)
	}
	// buf, which reads the set, checks that it resolves (protodesc.NewFiles would refuse
	// MessageSetCorrect's message_set_wire_format without the protolegacy build tag).
	out, err := proto.Marshal(set)
	if err != nil {
		fail("marshal: %v", err)
	}
	if err := os.WriteFile(os.Args[1], out, 0o644); err != nil {
		fail("%v", err)
	}
}

// rawDesc reads the FileDescriptorProto of one .pb.go file from its `_rawDesc` constant.
func rawDesc(path string) (*descriptorpb.FileDescriptorProto, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	// The imports are not needed for the constant; errors about them are ignored.
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: failing{}, Error: func(error) {}}
	_, _ = conf.Check("pb", fset, []*ast.File{f}, info)
	var found []constant.Value
	for id, obj := range info.Defs {
		c, ok := obj.(*types.Const)
		if ok && strings.HasSuffix(id.Name, "_rawDesc") && c.Val().Kind() == constant.String {
			found = append(found, c.Val())
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%d string constants named *_rawDesc, want 1", len(found))
	}
	file := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal([]byte(constant.StringVal(found[0])), file); err != nil {
		return nil, err
	}
	return file, nil
}

// addImport appends the file `name` and, first, its own imports, from the registry.
func addImport(set *descriptorpb.FileDescriptorSet, seen map[string]bool, name string) error {
	if seen[name] {
		return nil
	}
	seen[name] = true
	d, err := protoregistry.GlobalFiles.FindFileByPath(name)
	if err != nil {
		return fmt.Errorf("import %s: %v", name, err)
	}
	file := protodesc.ToFileDescriptorProto(d)
	for _, dep := range file.GetDependency() {
		if err := addImport(set, seen, dep); err != nil {
			return err
		}
	}
	set.File = append(set.File, file)
	return nil
}

// failing is an importer that imports nothing.
type failing struct{}

func (failing) Import(path string) (*types.Package, error) {
	return nil, fmt.Errorf("not imported: %s", path)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "editions-descriptors: "+format+"\n", args...)
	os.Exit(1)
}
