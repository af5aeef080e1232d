package remote

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
)

// TestReadFrameIntoOwnsResults reads frames through one reused buffer and checks that nothing a
// frame decoded to changes when the next frame is read: bodies are copied out, header strings
// are the decoder's own; a frame over reuseFrameMax gets a buffer of its own.
func TestReadFrameIntoOwnsResults(t *testing.T) {
	big := bytes.Repeat([]byte("z"), reuseFrameMax+1)
	var in []byte
	var want []*codec.Command
	for i, body := range [][]byte{[]byte("first body"), nil, []byte("third"), big, []byte("after big")} {
		c := codec.NewRequest(int32(10+i), codec.Fields{{Key: "k", Value: "value-" + string(rune('a'+i))}}, body)
		c.Remark = "remark " + string(rune('a'+i))
		var err error
		for _, st := range []codec.SerializeType{codec.SerializeJSON, codec.SerializeRocketMQ} {
			if in, err = codec.AppendFrame(in, c, st); err != nil {
				t.Fatal(err)
			}
			want = append(want, c)
		}
	}
	br := bufio.NewReaderSize(bytes.NewReader(in), 128)
	var buf []byte
	var got []*codec.Command
	for range want {
		c, err := readFrameInto(br, &buf, codec.MaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if _, err := readFrameInto(br, &buf, codec.MaxFrameSize); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	for i, c := range got {
		w := want[i]
		v, _ := c.ExtValue("k")
		wv, _ := w.ExtValue("k")
		if c.Code != w.Code || c.Remark != w.Remark || v != wv || !bytes.Equal(c.Body, w.Body) {
			t.Errorf("frame %d: got code %d remark %q k=%q body %d bytes; want %d %q %q %d bytes",
				i, c.Code, c.Remark, v, len(c.Body), w.Code, w.Remark, wv, len(w.Body))
		}
	}
	// A frame cut short is an unexpected EOF, in its prefix or after it.
	for _, cut := range []int{2, 6} {
		_, err := readFrameInto(bufio.NewReader(bytes.NewReader(in[:cut])), &buf, codec.MaxFrameSize)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("frame cut at %d bytes: %v", cut, err)
		}
	}
}
