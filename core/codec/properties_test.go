package codec

import (
	"reflect"
	"strings"
	"testing"
)

func TestAppendProperties(t *testing.T) {
	props := map[string]string{"TAGS": "TagA", "KEYS": "k1 k2", "EMPTY": "", "": "no-name"}
	got := string(AppendPropertiesSorted([]byte("x"), props))
	if want := "xKEYS\x01k1 k2\x02TAGS\x01TagA\x02"; got != want {
		t.Errorf("sorted: %q, want %q", got, want)
	}
	unsorted := AppendProperties(nil, props)
	if len(unsorted) != PropertiesLen(props) || len(unsorted) != len(got)-1 {
		t.Errorf("AppendProperties wrote %d bytes, PropertiesLen %d", len(unsorted), PropertiesLen(props))
	}
	if !reflect.DeepEqual(DecodePropertiesBytes(unsorted), map[string]string{"TAGS": "TagA", "KEYS": "k1 k2"}) {
		t.Errorf("round trip of %q", unsorted)
	}
	if s := EncodeProperties(props); len(s) != PropertiesLen(props) || DecodeProperties(s)["KEYS"] != "k1 k2" {
		t.Errorf("EncodeProperties = %q", s)
	}
	if AppendProperties(nil, nil) != nil || EncodeProperties(nil) != "" || PropertiesLen(nil) != 0 {
		t.Error("nil map must encode to nothing")
	}
	many := map[string]string{}
	for i := range 40 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	if got := DecodePropertiesBytes(AppendPropertiesSorted(nil, many)); !reflect.DeepEqual(got, many) {
		t.Errorf("40 sorted properties did not round trip")
	}
}

func TestDecodePropertiesJavaRules(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"", nil},
		{"a\x01", nil},                          // shorter than 3
		{"\x01b\x02", nil},                      // empty key
		{"ab\x01\x02", nil},                     // empty value
		{"abc\x02", nil},                        // no name-value separator
		{"a\x01b", map[string]string{"a": "b"}}, // no trailing separator
		{"a\x01b\x02", map[string]string{"a": "b"}},
		{"a\x01b\x01c\x02", map[string]string{"a": "b\x01c"}},    // first \x01 separates
		{"a\x011\x02a\x012\x02", map[string]string{"a": "2"}},    // last value wins
		{"\x02\x02k\x01v\x02\x02", map[string]string{"k": "v"}},  // empty segments
		{"x\x02k\x01v\x02\x01\x02", map[string]string{"k": "v"}}, // junk segments around a pair
		{"UNIQ_KEY\x01" + cdxUniq + "\x02", map[string]string{"UNIQ_KEY": cdxUniq}},
	}
	for _, tc := range tests {
		if got := DecodeProperties(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecodeProperties(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if got := DecodePropertiesBytes([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecodePropertiesBytes(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func cdxBenchProps() map[string]string {
	return map[string]string{
		"UNIQ_KEY": cdxUniq, "TAGS": "TagA", "KEYS": "order-12345", "WAIT": "true",
		"PGROUP": "ProducerGroupName", "TRACE_ON": "true",
	}
}

func BenchmarkAppendProperties(b *testing.B) {
	props := cdxBenchProps()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendProperties(buf[:0], props)
	}
}

func BenchmarkAppendPropertiesSorted(b *testing.B) {
	props := cdxBenchProps()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPropertiesSorted(buf[:0], props)
	}
}

func BenchmarkDecodeProperties(b *testing.B) {
	s := AppendProperties(nil, cdxBenchProps())
	b.ReportAllocs()
	for b.Loop() {
		DecodePropertiesBytes(s)
	}
}
