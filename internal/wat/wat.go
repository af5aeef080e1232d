// Package wat assembles the WebAssembly text format into a binary module, for the tests that keep
// hostile guests as readable WAT sources in testdata (nothing binary is committed). It covers the
// subset those guests need: types, function imports, functions (flat and folded instructions,
// blocks, loops, ifs with labels), one memory, globals, exports, a start function and active data
// segments, with the MVP's integer instructions. It is a test tool, not a validator: wazero
// validates what it assembles.
package wat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Assemble turns the text of one (module ...) into its binary encoding.
func Assemble(src string) ([]byte, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	if len(root.list) == 0 || root.list[0].atom != "module" {
		return nil, fmt.Errorf("wat: expected (module ...)")
	}
	m := &module{funcIdx: map[string]uint32{}, globalIdx: map[string]uint32{}, typeIdx: map[string]uint32{}}
	if err := m.build(root.list[1:]); err != nil {
		return nil, err
	}
	return m.encode()
}

// --- s-expressions

type node struct {
	atom string // "" for a list
	str  bool   // a string literal (atom holds its decoded bytes)
	list []*node
}

func (n *node) isList(head string) bool {
	return n.atom == "" && !n.str && len(n.list) > 0 && n.list[0].atom == head && !n.list[0].str
}

type token struct {
	s   string
	str bool
}

func tokenize(src string) ([]token, error) {
	var out []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == ';' && i+1 < len(src) && src[i+1] == ';':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '(' && i+1 < len(src) && src[i+1] == ';':
			end := strings.Index(src[i:], ";)")
			if end < 0 {
				return nil, fmt.Errorf("wat: unterminated block comment")
			}
			i += end + 2
		case c == '(' || c == ')':
			out = append(out, token{s: string(c)})
			i++
		case c == '"':
			var b bytes.Buffer
			i++
			for ; i < len(src) && src[i] != '"'; i++ {
				if src[i] != '\\' {
					b.WriteByte(src[i])
					continue
				}
				i++
				if i >= len(src) {
					return nil, fmt.Errorf("wat: bad escape")
				}
				switch e := src[i]; e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case '"', '\\', '\'':
					b.WriteByte(e)
				default:
					if i+1 >= len(src) {
						return nil, fmt.Errorf("wat: bad escape")
					}
					v, err := strconv.ParseUint(src[i:i+2], 16, 8)
					if err != nil {
						return nil, fmt.Errorf("wat: bad escape \\%s", src[i:i+2])
					}
					b.WriteByte(byte(v))
					i++
				}
			}
			if i >= len(src) {
				return nil, fmt.Errorf("wat: unterminated string")
			}
			i++
			out = append(out, token{s: b.String(), str: true})
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\n\r()\"", rune(src[j])) {
				j++
			}
			out = append(out, token{s: src[i:j]})
			i = j
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) parse() (*node, error) {
	if p.pos >= len(p.toks) || p.toks[p.pos].s != "(" || p.toks[p.pos].str {
		return nil, fmt.Errorf("wat: expected (")
	}
	return p.list()
}

func (p *parser) list() (*node, error) {
	p.pos++ // (
	n := &node{}
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		switch {
		case t.str:
			n.list = append(n.list, &node{atom: t.s, str: true})
			p.pos++
		case t.s == "(":
			c, err := p.list()
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, c)
		case t.s == ")":
			p.pos++
			return n, nil
		default:
			n.list = append(n.list, &node{atom: t.s})
			p.pos++
		}
	}
	return nil, fmt.Errorf("wat: unbalanced parentheses")
}

// --- module

type funcType struct{ params, results []byte }

func (t funcType) key() string { return string(t.params) + "|" + string(t.results) }

type function struct {
	name   string
	typ    uint32
	locals []byte
	lnames map[string]uint32
	body   []*node
	code   []byte
}

type global struct {
	typ  byte
	mut  bool
	init []*node
}

type export struct {
	name string
	kind byte
	idx  uint32
}

type funcImport struct {
	mod, name string
	typ       uint32
}

type data struct {
	offset []*node
	bytes  []byte
}

type module struct {
	types     []funcType
	typeIdx   map[string]uint32
	imports   []funcImport
	funcs     []*function
	funcIdx   map[string]uint32
	globals   []global
	globalIdx map[string]uint32
	memory    *[2]int64 // min, max (-1: none)
	exports   []export
	start     *node
	datas     []data
}

func valType(s string) (byte, error) {
	switch s {
	case "i32":
		return 0x7f, nil
	case "i64":
		return 0x7e, nil
	case "f32":
		return 0x7d, nil
	case "f64":
		return 0x7c, nil
	}
	return 0, fmt.Errorf("wat: unknown value type %q", s)
}

func (m *module) typeOf(t funcType) uint32 {
	if i, ok := m.typeIdx[t.key()]; ok {
		return i
	}
	m.types = append(m.types, t)
	i := uint32(len(m.types) - 1)
	m.typeIdx[t.key()] = i
	return i
}

// signature reads (param ...) (result ...) and (local ...) clauses; names maps named params and
// locals to their indexes.
func (m *module) signature(fields []*node, names map[string]uint32) (t funcType, locals []byte, rest []*node, err error) {
	for i, f := range fields {
		switch {
		case f.isList("param"), f.isList("result"), f.isList("local"):
			args := f.list[1:]
			if len(args) == 2 && strings.HasPrefix(args[0].atom, "$") {
				vt, err := valType(args[1].atom)
				if err != nil {
					return t, nil, nil, err
				}
				if names != nil {
					names[args[0].atom] = uint32(len(t.params) + len(locals))
				}
				args = args[1:]
				_ = vt
			}
			for _, a := range args {
				vt, err := valType(a.atom)
				if err != nil {
					return t, nil, nil, err
				}
				switch f.list[0].atom {
				case "param":
					t.params = append(t.params, vt)
				case "result":
					t.results = append(t.results, vt)
				default:
					locals = append(locals, vt)
				}
			}
		case f.isList("type"):
			// (type $t) references are resolved by the explicit signature that follows
		default:
			return t, locals, fields[i:], nil
		}
	}
	return t, locals, nil, nil
}

func (m *module) build(fields []*node) error {
	// First pass: names of functions (imports first) and globals.
	var nImports uint32
	for _, f := range fields {
		if f.isList("import") {
			if len(f.list) >= 4 && f.list[3].isList("func") && len(f.list[3].list) > 1 && strings.HasPrefix(f.list[3].list[1].atom, "$") {
				m.funcIdx[f.list[3].list[1].atom] = nImports
			}
			nImports++
		}
	}
	n := nImports
	var ng uint32
	for _, f := range fields {
		switch {
		case f.isList("func"):
			if len(f.list) > 1 && strings.HasPrefix(f.list[1].atom, "$") {
				m.funcIdx[f.list[1].atom] = n
			}
			n++
		case f.isList("global"):
			if len(f.list) > 1 && strings.HasPrefix(f.list[1].atom, "$") {
				m.globalIdx[f.list[1].atom] = ng
			}
			ng++
		}
	}
	for _, f := range fields {
		if f.atom != "" || len(f.list) == 0 {
			return fmt.Errorf("wat: unexpected %q in module", f.atom)
		}
		head := f.list[0].atom
		args := f.list[1:]
		switch head {
		case "type":
			if len(args) == 2 && args[1].isList("func") {
				t, _, _, err := m.signature(args[1].list[1:], nil)
				if err != nil {
					return err
				}
				m.typeIdx[args[0].atom] = m.typeOf(t)
			}
		case "import":
			if len(args) != 3 || !args[2].isList("func") {
				return fmt.Errorf("wat: only function imports are supported")
			}
			sig := args[2].list[1:]
			if len(sig) > 0 && strings.HasPrefix(sig[0].atom, "$") {
				sig = sig[1:]
			}
			t, _, _, err := m.signature(sig, nil)
			if err != nil {
				return err
			}
			m.imports = append(m.imports, funcImport{args[0].atom, args[1].atom, m.typeOf(t)})
		case "func":
			fn := &function{lnames: map[string]uint32{}}
			if len(args) > 0 && strings.HasPrefix(args[0].atom, "$") {
				fn.name, args = args[0].atom, args[1:]
			}
			for len(args) > 0 && args[0].isList("export") {
				m.exports = append(m.exports, export{args[0].list[1].atom, 0, uint32(len(m.imports) + len(m.funcs))})
				args = args[1:]
			}
			t, locals, body, err := m.signature(args, fn.lnames)
			if err != nil {
				return err
			}
			fn.typ, fn.locals, fn.body = m.typeOf(t), locals, body
			m.funcs = append(m.funcs, fn)
		case "memory":
			if len(args) > 0 && strings.HasPrefix(args[0].atom, "$") {
				args = args[1:]
			}
			for len(args) > 0 && args[0].isList("export") {
				m.exports = append(m.exports, export{args[0].list[1].atom, 2, 0})
				args = args[1:]
			}
			lim := [2]int64{0, -1}
			for i, a := range args {
				v, err := strconv.ParseInt(a.atom, 0, 64)
				if err != nil || i > 1 {
					return fmt.Errorf("wat: bad memory limits")
				}
				lim[i] = v
			}
			m.memory = &lim
		case "global":
			if len(args) > 0 && strings.HasPrefix(args[0].atom, "$") {
				args = args[1:]
			}
			if len(args) < 2 {
				return fmt.Errorf("wat: bad global")
			}
			g := global{init: args[1:]}
			ts := args[0]
			if ts.isList("mut") {
				g.mut, ts = true, ts.list[1]
			}
			vt, err := valType(ts.atom)
			if err != nil {
				return err
			}
			g.typ = vt
			m.globals = append(m.globals, g)
		case "export":
			if len(args) != 2 || args[1].atom != "" {
				return fmt.Errorf("wat: bad export")
			}
			ref := args[1].list
			switch ref[0].atom {
			case "func":
				idx, err := m.funcRef(ref[1].atom)
				if err != nil {
					return err
				}
				m.exports = append(m.exports, export{args[0].atom, 0, idx})
			case "memory":
				m.exports = append(m.exports, export{args[0].atom, 2, 0})
			default:
				return fmt.Errorf("wat: unsupported export kind %q", ref[0].atom)
			}
		case "start":
			m.start = args[0]
		case "data":
			if len(args) < 1 {
				return fmt.Errorf("wat: bad data")
			}
			d := data{}
			off := args[0]
			if off.isList("offset") {
				d.offset = off.list[1:]
			} else {
				d.offset = []*node{off}
			}
			for _, s := range args[1:] {
				if !s.str {
					return fmt.Errorf("wat: data expects strings")
				}
				d.bytes = append(d.bytes, s.atom...)
			}
			m.datas = append(m.datas, d)
		default:
			return fmt.Errorf("wat: unsupported module field %q", head)
		}
	}
	for _, fn := range m.funcs {
		e := &fenc{m: m, fn: fn}
		if err := e.instrs(fn.body); err != nil {
			return fmt.Errorf("wat: func %s: %w", fn.name, err)
		}
		fn.code = append(e.out, 0x0b)
	}
	return nil
}

func (m *module) funcRef(s string) (uint32, error) {
	if i, ok := m.funcIdx[s]; ok {
		return i, nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("unknown function %q", s)
	}
	return uint32(v), nil
}

// --- instructions

type fenc struct {
	m      *module
	fn     *function
	out    []byte
	labels []string // innermost last
}

var simpleOps = map[string][]byte{
	"unreachable": {0x00}, "nop": {0x01}, "return": {0x0f}, "drop": {0x1a}, "select": {0x1b},
	"memory.size": {0x3f, 0x00}, "memory.grow": {0x40, 0x00},
	"i32.eqz": {0x45}, "i32.eq": {0x46}, "i32.ne": {0x47}, "i32.lt_s": {0x48}, "i32.lt_u": {0x49},
	"i32.gt_s": {0x4a}, "i32.gt_u": {0x4b}, "i32.le_u": {0x4d}, "i32.ge_u": {0x4f},
	"i64.eqz": {0x50}, "i64.eq": {0x51},
	"i32.add": {0x6a}, "i32.sub": {0x6b}, "i32.mul": {0x6c}, "i32.div_u": {0x6e}, "i32.rem_u": {0x70},
	"i32.and": {0x71}, "i32.or": {0x72}, "i32.xor": {0x73}, "i32.shl": {0x74}, "i32.shr_u": {0x76},
	"i64.add": {0x7c}, "i64.sub": {0x7d}, "i64.mul": {0x7e}, "i64.and": {0x83}, "i64.or": {0x84},
	"i64.shl": {0x86}, "i64.shr_u": {0x88},
	"i32.wrap_i64": {0xa7}, "i64.extend_i32_s": {0xac}, "i64.extend_i32_u": {0xad},
}

var memOps = map[string]struct {
	op    byte
	align uint32
}{
	"i32.load": {0x28, 2}, "i64.load": {0x29, 3}, "i32.load8_u": {0x2d, 0}, "i32.load8_s": {0x2c, 0},
	"i32.store": {0x36, 2}, "i64.store": {0x37, 3}, "i32.store8": {0x3a, 0},
}

func (e *fenc) instrs(ns []*node) error {
	for i := 0; i < len(ns); i++ {
		n := ns[i]
		if n.atom == "" && !n.str {
			if err := e.folded(n); err != nil {
				return err
			}
			continue
		}
		op := n.atom
		var imm []*node
		// immediates: atoms that follow, as many as the op takes
		take := func(k int) {
			for j := 0; j < k && i+1 < len(ns) && ns[i+1].atom != "" && !ns[i+1].str; j++ {
				i++
				imm = append(imm, ns[i])
			}
		}
		switch op {
		case "block", "loop", "if":
			take(1)
			if len(imm) == 1 && !strings.HasPrefix(imm[0].atom, "$") {
				i--
				imm = nil
			}
			var bt *node
			if i+1 < len(ns) && ns[i+1].isList("result") {
				i++
				bt = ns[i]
			}
			if err := e.blockStart(op, imm, bt); err != nil {
				return err
			}
			continue
		case "else":
			e.out = append(e.out, 0x05)
			continue
		case "end":
			e.out = append(e.out, 0x0b)
			e.labels = e.labels[:len(e.labels)-1]
			continue
		}
		if _, ok := memOps[op]; ok {
			for i+1 < len(ns) && (strings.HasPrefix(ns[i+1].atom, "offset=") || strings.HasPrefix(ns[i+1].atom, "align=")) {
				i++
				imm = append(imm, ns[i])
			}
		} else if _, ok := simpleOps[op]; !ok {
			take(1)
		}
		if err := e.plain(op, imm); err != nil {
			return err
		}
	}
	return nil
}

func (e *fenc) blockStart(op string, imm []*node, bt *node) error {
	code := map[string]byte{"block": 0x02, "loop": 0x03, "if": 0x04}[op]
	e.out = append(e.out, code)
	if bt == nil || len(bt.list) < 2 {
		e.out = append(e.out, 0x40)
	} else {
		vt, err := valType(bt.list[1].atom)
		if err != nil {
			return err
		}
		e.out = append(e.out, vt)
	}
	label := ""
	if len(imm) == 1 {
		label = imm[0].atom
	}
	e.labels = append(e.labels, label)
	return nil
}

// folded encodes (op imm... operands...) and the folded block forms.
func (e *fenc) folded(n *node) error {
	op := n.list[0].atom
	rest := n.list[1:]
	switch op {
	case "block", "loop":
		var imm []*node
		if len(rest) > 0 && strings.HasPrefix(rest[0].atom, "$") {
			imm, rest = rest[:1], rest[1:]
		}
		var bt *node
		if len(rest) > 0 && rest[0].isList("result") {
			bt, rest = rest[0], rest[1:]
		}
		if err := e.blockStart(op, imm, bt); err != nil {
			return err
		}
		if err := e.instrs(rest); err != nil {
			return err
		}
		e.out = append(e.out, 0x0b)
		e.labels = e.labels[:len(e.labels)-1]
		return nil
	case "if":
		var imm []*node
		if len(rest) > 0 && strings.HasPrefix(rest[0].atom, "$") {
			imm, rest = rest[:1], rest[1:]
		}
		var bt *node
		if len(rest) > 0 && rest[0].isList("result") {
			bt, rest = rest[0], rest[1:]
		}
		var then, els *node
		var cond []*node
		for _, r := range rest {
			switch {
			case r.isList("then"):
				then = r
			case r.isList("else"):
				els = r
			default:
				cond = append(cond, r)
			}
		}
		if err := e.instrs(cond); err != nil {
			return err
		}
		if err := e.blockStart("if", imm, bt); err != nil {
			return err
		}
		if then != nil {
			if err := e.instrs(then.list[1:]); err != nil {
				return err
			}
		}
		if els != nil {
			e.out = append(e.out, 0x05)
			if err := e.instrs(els.list[1:]); err != nil {
				return err
			}
		}
		e.out = append(e.out, 0x0b)
		e.labels = e.labels[:len(e.labels)-1]
		return nil
	}
	var imm, operands []*node
	for _, r := range rest {
		if r.atom != "" && !r.str {
			imm = append(imm, r)
		} else {
			operands = append(operands, r)
		}
	}
	if err := e.instrs(operands); err != nil {
		return err
	}
	return e.plain(op, imm)
}

func (e *fenc) plain(op string, imm []*node) error {
	if b, ok := simpleOps[op]; ok {
		e.out = append(e.out, b...)
		return nil
	}
	if mo, ok := memOps[op]; ok {
		align, offset := mo.align, uint64(0)
		for _, a := range imm {
			k, v, _ := strings.Cut(a.atom, "=")
			x, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return fmt.Errorf("bad %s", a.atom)
			}
			if k == "offset" {
				offset = x
			} else {
				align = uint32(bitsLen(uint32(x)) - 1)
			}
		}
		e.out = append(e.out, mo.op)
		e.out = uleb(e.out, uint64(align))
		e.out = uleb(e.out, offset)
		return nil
	}
	if len(imm) != 1 {
		return fmt.Errorf("%s: expected one immediate, got %d", op, len(imm))
	}
	a := imm[0].atom
	switch op {
	case "i32.const":
		v, err := parseInt(a, 32)
		if err != nil {
			return err
		}
		e.out = sleb(append(e.out, 0x41), int64(int32(v)))
	case "i64.const":
		v, err := parseInt(a, 64)
		if err != nil {
			return err
		}
		e.out = sleb(append(e.out, 0x42), v)
	case "local.get", "local.set", "local.tee":
		idx, ok := e.fn.lnames[a]
		if !ok {
			v, err := strconv.ParseUint(a, 10, 32)
			if err != nil {
				return fmt.Errorf("unknown local %q", a)
			}
			idx = uint32(v)
		}
		e.out = uleb(append(e.out, map[string]byte{"local.get": 0x20, "local.set": 0x21, "local.tee": 0x22}[op]), uint64(idx))
	case "global.get", "global.set":
		idx, ok := e.m.globalIdx[a]
		if !ok {
			v, err := strconv.ParseUint(a, 10, 32)
			if err != nil {
				return fmt.Errorf("unknown global %q", a)
			}
			idx = uint32(v)
		}
		e.out = uleb(append(e.out, map[string]byte{"global.get": 0x23, "global.set": 0x24}[op]), uint64(idx))
	case "call":
		idx, err := e.m.funcRef(a)
		if err != nil {
			return err
		}
		e.out = uleb(append(e.out, 0x10), uint64(idx))
	case "br", "br_if":
		depth, err := e.labelDepth(a)
		if err != nil {
			return err
		}
		e.out = uleb(append(e.out, map[string]byte{"br": 0x0c, "br_if": 0x0d}[op]), uint64(depth))
	default:
		return fmt.Errorf("unsupported instruction %q", op)
	}
	return nil
}

func (e *fenc) labelDepth(a string) (uint32, error) {
	if strings.HasPrefix(a, "$") {
		for d := len(e.labels) - 1; d >= 0; d-- {
			if e.labels[d] == a {
				return uint32(len(e.labels) - 1 - d), nil
			}
		}
		return 0, fmt.Errorf("unknown label %q", a)
	}
	v, err := strconv.ParseUint(a, 10, 32)
	return uint32(v), err
}

func parseInt(s string, bits int) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	if v, err := strconv.ParseInt(s, 0, bits); err == nil {
		return v, nil
	}
	u, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return 0, fmt.Errorf("bad integer %q", s)
	}
	return int64(u), nil
}

func bitsLen(x uint32) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// --- binary encoding

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func name(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

func section(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = uleb(out, uint64(len(body)))
	return append(out, body...)
}

func (m *module) constExpr(ns []*node) ([]byte, error) {
	e := &fenc{m: m, fn: &function{lnames: map[string]uint32{}}}
	if err := e.instrs(ns); err != nil {
		return nil, err
	}
	return append(e.out, 0x0b), nil
}

func (m *module) encode() ([]byte, error) {
	out := []byte("\x00asm\x01\x00\x00\x00")
	var b []byte
	if len(m.types) > 0 {
		b = uleb(nil, uint64(len(m.types)))
		for _, t := range m.types {
			b = append(b, 0x60)
			b = append(uleb(b, uint64(len(t.params))), t.params...)
			b = append(uleb(b, uint64(len(t.results))), t.results...)
		}
		out = section(out, 1, b)
	}
	if len(m.imports) > 0 {
		b = uleb(nil, uint64(len(m.imports)))
		for _, im := range m.imports {
			b = name(name(b, im.mod), im.name)
			b = uleb(append(b, 0x00), uint64(im.typ))
		}
		out = section(out, 2, b)
	}
	if len(m.funcs) > 0 {
		b = uleb(nil, uint64(len(m.funcs)))
		for _, f := range m.funcs {
			b = uleb(b, uint64(f.typ))
		}
		out = section(out, 3, b)
	}
	if m.memory != nil {
		b = []byte{1}
		if m.memory[1] < 0 {
			b = uleb(append(b, 0x00), uint64(m.memory[0]))
		} else {
			b = uleb(uleb(append(b, 0x01), uint64(m.memory[0])), uint64(m.memory[1]))
		}
		out = section(out, 5, b)
	}
	if len(m.globals) > 0 {
		b = uleb(nil, uint64(len(m.globals)))
		for _, g := range m.globals {
			mut := byte(0)
			if g.mut {
				mut = 1
			}
			b = append(b, g.typ, mut)
			init, err := m.constExpr(g.init)
			if err != nil {
				return nil, err
			}
			b = append(b, init...)
		}
		out = section(out, 6, b)
	}
	if len(m.exports) > 0 {
		b = uleb(nil, uint64(len(m.exports)))
		for _, ex := range m.exports {
			b = uleb(append(name(b, ex.name), ex.kind), uint64(ex.idx))
		}
		out = section(out, 7, b)
	}
	if m.start != nil {
		idx, err := m.funcRef(m.start.atom)
		if err != nil {
			return nil, err
		}
		out = section(out, 8, uleb(nil, uint64(idx)))
	}
	if len(m.funcs) > 0 {
		b = uleb(nil, uint64(len(m.funcs)))
		for _, f := range m.funcs {
			var body []byte
			// locals: one entry per local (simple, valid)
			body = uleb(body, uint64(len(f.locals)))
			for _, l := range f.locals {
				body = append(uleb(body, 1), l)
			}
			body = append(body, f.code...)
			b = append(uleb(b, uint64(len(body))), body...)
		}
		out = section(out, 10, b)
	}
	if len(m.datas) > 0 {
		b = uleb(nil, uint64(len(m.datas)))
		for _, d := range m.datas {
			off, err := m.constExpr(d.offset)
			if err != nil {
				return nil, err
			}
			b = append(append(b, 0x00), off...)
			b = append(uleb(b, uint64(len(d.bytes))), d.bytes...)
		}
		out = section(out, 11, b)
	}
	return out, nil
}

// AssembleFile assembles the file at path after replacing each "{{key}}" with vars[key].
func AssembleFile(path string, vars map[string]string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pairs []string
	for k, v := range vars {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	bin, err := Assemble(strings.NewReplacer(pairs...).Replace(string(src)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bin, nil
}

// Bytes writes b as the body of a WAT string literal.
func Bytes(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "\\%02x", c)
	}
	return sb.String()
}
