package codec

import (
	"strings"
	"testing"
	"time"
)

// frBenchSendV2 is a SEND_MESSAGE_V2 request as the producer builds it for a 1 KiB message.
func frBenchSendV2() *Command {
	h := &SendMessageRequestHeader{
		ProducerGroup:         "please_rename_unique_group_name",
		Topic:                 "TopicTest",
		DefaultTopic:          "TBW102",
		DefaultTopicQueueNums: 4,
		QueueID:               3,
		SysFlag:               0,
		BornTimestamp:         time.Now().UnixMilli(),
		Flag:                  0,
		Properties: "UNIQ_KEY\x017F0000011E3C18B4AAC25D6A4D7A0000\x02WAIT\x01true\x02TAGS\x01TagA\x02" +
			"KEYS\x01OrderID188 OrderID189\x02",
		BrokerName: "broker-a",
	}
	body := []byte(strings.Repeat("0123456789abcdef", 64)) // 1 KiB
	return &Command{Code: SendMessageV2, Language: LanguageGo, Version: DefaultVersion, Opaque: 1,
		Header: (*SendMessageRequestHeaderV2)(h), Body: body}
}

func BenchmarkEncodeSendMessageV2(b *testing.B) {
	for _, st := range frSerializeTypes {
		b.Run(st.String(), func(b *testing.B) {
			c := frBenchSendV2()
			dst, err := AppendFrame(nil, c, st)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Opaque = int32(i)
				dst, err = AppendFrame(dst[:0], c, st)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeSendResponse(b *testing.B) {
	jsonHeader := strings.ReplaceAll(strings.ReplaceAll(frGoldenSendResponseJSON, "\n ", ""), `"..."`,
		`"7F0000011E3C18B4AAC25D6A4D7A0000"`)
	c, err := DecodeFrame(frJSONFrame(jsonHeader, nil)[4:])
	if err != nil {
		b.Fatal(err)
	}
	frames := map[SerializeType][]byte{SerializeJSON: frJSONFrame(jsonHeader, nil)}
	bin, err := AppendFrame(nil, c, SerializeRocketMQ)
	if err != nil {
		b.Fatal(err)
	}
	frames[SerializeRocketMQ] = bin
	for _, st := range frSerializeTypes {
		b.Run(st.String(), func(b *testing.B) {
			frame := frames[st][4:]
			b.SetBytes(int64(len(frame) + 4))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c, err := DecodeFrame(frame)
				if err != nil {
					b.Fatal(err)
				}
				h, err := DecodeSendMessageResponseHeader(c)
				if err != nil || h.QueueID != 1 {
					b.Fatal(h, err)
				}
			}
		})
	}
}

func BenchmarkDecodeFrameSendV2(b *testing.B) {
	for _, st := range frSerializeTypes {
		b.Run(st.String(), func(b *testing.B) {
			frame, err := AppendFrame(nil, frBenchSendV2(), st)
			if err != nil {
				b.Fatal(err)
			}
			frame = frame[4:]
			b.SetBytes(int64(len(frame) + 4))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c, err := DecodeFrame(frame)
				if err != nil || len(c.Body) != 1024 {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeSendRequestHeader is what a (fake) broker does with each send: decode the frame,
// then the typed header.
func BenchmarkDecodeSendRequestHeader(b *testing.B) {
	for _, st := range frSerializeTypes {
		b.Run(st.String(), func(b *testing.B) {
			frame, err := AppendFrame(nil, frBenchSendV2(), st)
			if err != nil {
				b.Fatal(err)
			}
			frame = frame[4:]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c, err := DecodeFrame(frame)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := DecodeSendMessageRequestHeader(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeTopicRouteData(b *testing.B) {
	body := []byte(frRouteStandard)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeTopicRouteData(body); err != nil {
			b.Fatal(err)
		}
	}
}
