// Package openapigen writes the OpenAPI document of the local API,
// api/openapi.json, from its one declaration in Go: the routes of
// api.Operations and the api types they name. The schemas come from the
// types through kin-openapi's openapi3gen; their doc comments become the
// descriptions. TestOpenAPI in api keeps the committed file in step
// (go test ./api -run TestOpenAPI -update rewrites it; docs/CONTRIBUTING.md).
//
// What the types alone cannot say is said by an `openapi` struct tag, items
// separated by ";":
//
//	enum=a|b|c     the values allowed (a leading "|" allows ""; on a bool, "false")
//	pattern=RE     a regular expression the string matches
//	nullable       the field may be null (a slice or map the server may leave nil)
//	optional       not required in a request, though encoded without omitempty
//	object         a json.RawMessage that holds a JSON object
//
// A field is required unless its json tag says omitempty (or optional); a
// pointer or json.RawMessage without omitempty may be null; objects are
// closed (additionalProperties: false), so an undocumented field fails.
package openapigen

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/licensehost/licensehost/api"
)

// module is the import path of the repository's root.
const module = "github.com/licensehost/licensehost"

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// JSON returns the document as written to api/openapi.json. root is the
// repository's root directory, whose Go sources give the descriptions.
func JSON(root string) ([]byte, error) {
	doc, err := Document(root, api.Operations)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Document builds the document of ops.
func Document(root string, ops []api.Operation) (*openapi3.T, error) {
	g := &generator{root: root, schemas: openapi3.Schemas{}, types: map[string]reflect.Type{}, docs: map[string]string{}, parsed: map[string]bool{}}
	g.gen = openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
		openapi3gen.CreateTypeNameGenerator(func(t reflect.Type) string {
			g.types[t.Name()] = t
			return t.Name()
		}),
		openapi3gen.SchemaCustomizer(g.customize),
		openapi3gen.ThrowErrorOnCycle(),
	)
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "licensehost local API", Version: "1",
			Description: "Local HTTP API of the licensehost daemon (docs/api.md). Every route but /healthz needs Authorization: Bearer <token>. " +
				"This document is the contract, generated from the Go types of api/ (docs/CONTRIBUTING.md): the server's and the end-to-end tests validate every answer against it (api/apitest)."},
		Servers:  openapi3.Servers{{URL: "http://" + api.DefaultListen}},
		Security: *openapi3.NewSecurityRequirements().With(openapi3.NewSecurityRequirement().Authenticate("bearer")),
		Paths:    openapi3.NewPaths(),
		Components: &openapi3.Components{
			SecuritySchemes: openapi3.SecuritySchemes{"bearer": {Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer")}},
			Responses:       openapi3.ResponseBodies{},
			Schemas:         g.schemas,
		},
	}
	errRef, err := g.ref(api.Error{})
	if err != nil {
		return nil, err
	}
	doc.Components.Responses["Error"] = &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(api.ErrorsDoc).WithJSONSchemaRef(errRef)}
	for _, op := range ops {
		o, err := g.operation(op)
		if err != nil {
			return nil, fmt.Errorf("openapigen: %s %s: %w", op.Method, op.Path, err)
		}
		item := doc.Paths.Value(op.Path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(op.Path, item)
		}
		if item.GetOperation(op.Method) != nil {
			return nil, fmt.Errorf("openapigen: %s %s declared twice", op.Method, op.Path)
		}
		item.SetOperation(op.Method, o)
	}
	if err := g.finish(); err != nil {
		return nil, err
	}
	return doc, nil
}

type generator struct {
	root    string
	gen     *openapi3gen.Generator
	schemas openapi3.Schemas
	types   map[string]reflect.Type // component name → its Go type
	docs    map[string]string       // "pkg.Type" and "pkg.Type.Field" → doc comment
	parsed  map[string]bool         // package paths whose sources were read
}

// ref returns the schema of v's type: a reference to its component for a
// struct, the schema itself otherwise.
func (g *generator) ref(v any) (*openapi3.SchemaRef, error) {
	return g.gen.NewSchemaRefForValue(v, g.schemas)
}

func (g *generator) operation(op api.Operation) (*openapi3.Operation, error) {
	o := openapi3.NewOperation()
	o.Summary = op.Summary
	if op.Public {
		o.Security = openapi3.NewSecurityRequirements()
	}
	for _, p := range op.Query {
		s := openapi3.NewIntegerSchema().WithMin(p.Min).WithMax(p.Max)
		o.AddParameter(openapi3.NewQueryParameter(p.Name).WithSchema(s))
	}
	switch {
	case op.RequestMedia != "":
		o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(!op.RequestOptional).
			WithSchema(openapi3.NewStringSchema(), []string{op.RequestMedia})}
	case op.Request != nil:
		ref, err := g.ref(op.Request)
		if err != nil {
			return nil, err
		}
		o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(!op.RequestOptional).WithJSONSchemaRef(ref)}
	}
	o.Responses = openapi3.NewResponsesWithCapacity(len(op.Responses) + 1)
	if !op.NoErrors {
		o.Responses.Set("default", &openapi3.ResponseRef{Ref: "#/components/responses/Error"})
	}
	for _, r := range op.Responses {
		resp := openapi3.NewResponse().WithDescription(r.Description)
		switch {
		case len(r.Bodies) == 0 && strings.HasPrefix(r.Media, "text/"):
			resp.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{r.Media}))
		case len(r.Bodies) == 0:
			resp.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema().WithFormat("binary"), []string{r.Media}))
		default:
			refs := make([]*openapi3.SchemaRef, len(r.Bodies))
			for i, b := range r.Bodies {
				var err error
				if refs[i], err = g.ref(b); err != nil {
					return nil, err
				}
			}
			if len(refs) == 1 {
				resp.WithJSONSchemaRef(refs[0])
			} else {
				resp.WithJSONSchema(&openapi3.Schema{OneOf: refs})
			}
		}
		o.Responses.Set(strconv.Itoa(r.Status), &openapi3.ResponseRef{Value: resp})
	}
	return o, nil
}

// tag is a field's `openapi` tag.
type tag struct {
	enum                               []string
	pattern                            string
	nullable, optional, object, hasAny bool
}

func parseTag(st reflect.StructTag) (tag, error) {
	var t tag
	s, ok := st.Lookup("openapi")
	if !ok {
		return t, nil
	}
	t.hasAny = true
	for item := range strings.SplitSeq(s, ";") {
		k, v, _ := strings.Cut(item, "=")
		switch k {
		case "enum":
			t.enum = strings.Split(v, "|")
		case "pattern":
			t.pattern = v
		case "nullable":
			t.nullable = true
		case "optional":
			t.optional = true
		case "object":
			t.object = true
		default:
			return t, fmt.Errorf("openapigen: unknown openapi tag item %q", item)
		}
	}
	return t, nil
}

// jsonField is a struct field's name and omitempty on the wire; ok is
// false for a field not encoded.
func jsonField(f reflect.StructField) (name string, omitempty, ok bool) {
	if !f.IsExported() {
		return "", false, false
	}
	j, has := f.Tag.Lookup("json")
	if !has || j == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(j, ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(","+opts+",", ",omitempty,"), true
}

// customize runs for every schema openapi3gen makes: of a field (name and
// tag are the field's) or of a body's type (tag empty).
func (g *generator) customize(_ string, t reflect.Type, st reflect.StructTag, s *openapi3.Schema) error {
	if t.Kind() == reflect.Struct && t != timeType {
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
		s.Required = nil
		for i := range t.NumField() {
			f := t.Field(i)
			name, omitempty, ok := jsonField(f)
			if !ok {
				continue
			}
			ft, err := parseTag(f.Tag)
			if err != nil {
				return err
			}
			if !omitempty && !ft.optional {
				s.Required = append(s.Required, name)
			}
		}
	}
	if st == "" {
		return nil
	}
	ft, err := parseTag(st)
	if err != nil {
		return err
	}
	_, omitempty, _ := jsonField(reflect.StructField{Name: "X", Tag: st})
	if t == rawType {
		s.Nullable = !omitempty
	}
	if omitempty {
		s.Nullable = false // absent rather than null
	}
	if ft.nullable {
		s.Nullable = true
	}
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		// The elements were made with the field's tag too: the tag's
		// nullable is the field's; enum and pattern are the elements'.
		if s.Items != nil && s.Items.Value != nil && t.Elem().Kind() != reflect.Pointer {
			s.Items.Value.Nullable = false
		}
		return nil
	}
	if ft.object {
		s.Type = &openapi3.Types{openapi3.TypeObject}
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(true)}
	}
	if ft.pattern != "" {
		s.Pattern = ft.pattern
	}
	for _, v := range ft.enum {
		if t.Kind() == reflect.Bool {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("openapigen: enum %q of a bool", v)
			}
			s.Enum = append(s.Enum, b)
			continue
		}
		s.Enum = append(s.Enum, v)
	}
	return nil
}

// finish gives every component and its fields their doc comments, and
// makes a reference to a struct nullable where its pointer field may be
// null (a $ref has no siblings in OpenAPI 3.0: allOf carries it).
func (g *generator) finish() error {
	names := make([]string, 0, len(g.schemas))
	for name := range g.schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t, ok := g.types[name]
		if !ok {
			return fmt.Errorf("openapigen: component %s has no Go type", name)
		}
		if err := g.parse(t.PkgPath()); err != nil {
			return err
		}
		s := g.schemas[name].Value
		s.Description = g.docs[t.PkgPath()+"."+t.Name()]
		for i := range t.NumField() {
			f := t.Field(i)
			jname, omitempty, ok := jsonField(f)
			if !ok {
				continue
			}
			p := s.Properties[jname]
			if p == nil {
				return fmt.Errorf("openapigen: %s.%s has no schema", name, f.Name)
			}
			if p.Ref != "" {
				if f.Type.Kind() == reflect.Pointer && !omitempty {
					s.Properties[jname] = &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{p}, Nullable: true}}
				}
				continue
			}
			p.Value.Description = g.docs[t.PkgPath()+"."+t.Name()+"."+f.Name]
		}
	}
	return nil
}

// parse reads the doc comments of a package of this repository.
func (g *generator) parse(pkg string) error {
	if g.parsed[pkg] {
		return nil
	}
	g.parsed[pkg] = true
	rel, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return fmt.Errorf("openapigen: %s is outside the module", pkg)
	}
	files, err := filepath.Glob(filepath.Join(g.root, filepath.FromSlash(rel), "*.go"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("openapigen: no sources of %s under %s", pkg, g.root)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				g.docs[pkg+"."+ts.Name.Name] = text(doc)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fld := range st.Fields.List {
					c := text(fld.Doc)
					if c == "" {
						c = text(fld.Comment)
					}
					for _, n := range fld.Names {
						g.docs[pkg+"."+ts.Name.Name+"."+n.Name] = c
					}
				}
			}
		}
	}
	return nil
}

// text is a comment as one line.
func text(c *ast.CommentGroup) string {
	if c == nil {
		return ""
	}
	return strings.Join(strings.Fields(c.Text()), " ")
}
