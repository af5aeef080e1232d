package codec

import (
	"strconv"
)

// appendJSONHeader writes the header as fastjson would: members in alphabetical order, null
// members omitted, the language by name.
func appendJSONHeader(dst []byte, c *Command) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c.Code), 10)
	dst = append(dst, `,"extFields":{`...)
	w := ExtWriter{buf: dst, mode: extJSON}
	w.command(c)
	dst = append(w.buf, `},"flag":`...)
	dst = strconv.AppendInt(dst, int64(c.Flag), 10)
	dst = append(dst, `,"language":`...)
	if int(c.Language) < len(languageNames) {
		dst = appendJSONString(dst, languageNames[c.Language])
	} else {
		// No name: write the ordinal, which fastjson (and decodeJSONHeader) map to the enum.
		dst = strconv.AppendInt(dst, int64(c.Language), 10)
	}
	dst = append(dst, `,"opaque":`...)
	dst = strconv.AppendInt(dst, int64(c.Opaque), 10)
	if c.Remark != "" {
		dst = append(dst, `,"remark":`...)
		dst = appendJSONString(dst, c.Remark)
	}
	dst = append(dst, `,"serializeTypeCurrentRPC":"JSON","version":`...)
	dst = strconv.AppendInt(dst, int64(c.Version), 10)
	return append(dst, '}')
}

func decodeJSONHeader(h []byte, c *Command) error {
	p := jsonParser{b: h, s: string(h)}
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "code":
			c.Code, err = p.int32()
		case "version":
			c.Version, err = p.int32()
		case "opaque":
			c.Opaque, err = p.int32()
		case "flag":
			c.Flag, err = p.int32()
		case "language":
			var s string
			if s, err = p.text(); err == nil {
				if l, ok := languageByName(s); ok {
					c.Language = l
				} else if n, perr := strconv.Atoi(s); perr == nil && n >= 0 && n < 256 {
					c.Language = LanguageCode(n) // fastjson maps ordinals to the enum too
				} else {
					c.Language = LanguageOther
				}
			}
		case "remark":
			c.Remark, err = p.text()
		case "extFields":
			if p.null() {
				return nil
			}
			err = p.object(func(k string) error {
				v, err := p.text()
				// Empty keys and values are dropped, as the binary format and ExtWriter do.
				if err == nil && k != "" && v != "" {
					c.Ext = append(c.Ext, Field{k, v})
				}
				return err
			})
		default:
			err = p.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	return p.end()
}
