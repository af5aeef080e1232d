package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAccessorsKeepPropertiesAsJavaDoes(t *testing.T) {
	m := New("T", []byte("b"))
	m.SetTags("TagA")
	m.SetKeys("k1", "k2")
	if m.Properties["TAGS"] != "TagA" || m.Properties["KEYS"] != "k1 k2" {
		t.Fatalf("properties %v", m.Properties)
	}
	if !reflect.DeepEqual(m.Keys(), []string{"k1", "k2"}) || m.Tags() != "TagA" {
		t.Fatalf("keys %v tags %q", m.Keys(), m.Tags())
	}
	m.SetTags("") // the wire cannot carry an empty value: setting one removes the property
	if _, ok := m.Properties["TAGS"]; ok {
		t.Fatal("empty tag kept")
	}
	m.SetKeys()
	if m.Keys() != nil {
		t.Fatalf("keys %v", m.Keys())
	}
}

func TestDelayLevel(t *testing.T) {
	m := New("T", nil)
	for v, want := range map[string]int{"": 0, "3": 3, "18": 18, "x": 0, "-1": 0, "99999999999": 0} {
		m.SetSystemProperty(PropertyDelayTimeLevel, v)
		if got := m.DelayLevel(); got != want {
			t.Errorf("DELAY=%q: level %d, want %d", v, got, want)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	m := New("T", []byte("b"))
	m.SetProperty("a", "1")
	c := m.Clone()
	c.SetProperty("a", "2")
	c.Topic = "U"
	if m.Property("a") != "1" || m.Topic != "T" {
		t.Fatal("clone shares state with the original")
	}
}

func TestReserved(t *testing.T) {
	if !IsReserved("UNIQ_KEY") || !IsReserved("TAGS") || IsReserved("my-prop") {
		t.Fatal("reserved set wrong")
	}
}

func TestDelayAndTimerAccessors(t *testing.T) {
	m := New("T", nil)
	m.SetDelayLevel(3)
	if m.DelayLevel() != 3 {
		t.Fatal(m.Properties)
	}
	m.SetDelayLevel(0)
	if _, ok := m.Properties[PropertyDelayTimeLevel]; ok {
		t.Fatal("level 0 kept")
	}
	m.SetDeliverAfter(1500 * time.Millisecond)
	if m.Property(PropertyTimerDelaySec) != "2" {
		t.Fatalf("delay sec %q", m.Property(PropertyTimerDelaySec))
	}
	at := time.UnixMilli(1700000000123)
	m.SetDeliverAt(at)
	if m.Property(PropertyTimerDeliverMS) != "1700000000123" || m.Property(PropertyTimerDelaySec) != "" {
		t.Fatalf("props %v", m.Properties)
	}
}

// TestSetPropertyRefusesWhatJavaRefuses: Java's putUserProperty refuses system names and blank
// names or values; the wire separators are refused too. A refused call leaves the message as it
// was.
func TestSetPropertyRefusesWhatJavaRefuses(t *testing.T) {
	m := New("T", []byte("b"))
	for _, name := range []string{"UNIQ_KEY", "TAGS", "KEYS", "DELAY", "WAIT", "__transactionId__", "TIMER_DELIVER_MS"} {
		if err := m.SetProperty(name, "abc"); !errors.Is(err, ErrReservedProperty) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, kv := range [][2]string{{"", "v"}, {"  ", "v"}, {"a", "  "}, {"a\x01", "v"}, {"a", "v\x02"}} {
		if err := m.SetProperty(kv[0], kv[1]); !errors.Is(err, ErrInvalidProperty) {
			t.Errorf("%q=%q: %v", kv[0], kv[1], err)
		}
	}
	if len(m.Properties) != 0 {
		t.Fatalf("refused calls changed the message: %v", m.Properties)
	}
	if err := m.SetProperty("region", "eu"); err != nil || m.Property("region") != "eu" {
		t.Fatalf("user property: %v %v", err, m.Properties)
	}
	if err := m.SetProperty("region", ""); err != nil || m.Property("region") != "" {
		t.Fatalf("removal: %v %v", err, m.Properties)
	}
	m.SetSystemProperty("UNIQ_KEY", "abc") // the producer's and hooks' way
	if m.UniqID() != "abc" {
		t.Fatal(m.Properties)
	}
	var nilMsg *Message
	if err := nilMsg.SetProperty("a", "b"); err == nil {
		t.Fatal("nil message accepted")
	}
}

func TestWaitStoreMsgOK(t *testing.T) {
	m := New("T", nil)
	if !m.WaitStoreMsgOK() {
		t.Fatal("absent WAIT must mean true")
	}
	m.SetWaitStoreMsgOK(false)
	if m.WaitStoreMsgOK() || m.Property(PropertyWaitStoreMsgOK) != "false" {
		t.Fatal(m.Properties)
	}
	m.SetSystemProperty(PropertyWaitStoreMsgOK, "TRUE") // Java's Boolean.parseBoolean ignores case
	if !m.WaitStoreMsgOK() {
		t.Fatal("TRUE")
	}
	m.SetSystemProperty(PropertyWaitStoreMsgOK, "yes")
	if m.WaitStoreMsgOK() {
		t.Fatal("yes is false for Java")
	}
}
