package rmqtest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Remoting request codes used by the helper (see the RocketMQ RequestCode).
const (
	codeGetRouteInfoByTopic = 105
	codeSuccess             = 0
)

// nsRequest sends one RocketMQ remoting request with a JSON header and no
// body to addr and returns the response code, remark and body. It is the
// same request `mqadmin topicRoute` sends, without the seconds a JVM takes
// to start; the NameServer needs no authentication, even for Auth().
func nsRequest(addr string, code int, ext map[string]string) (int, string, []byte, error) {
	hdr, err := json.Marshal(map[string]any{
		"code": code, "flag": 0, "language": "GO", "opaque": 1,
		"serializeTypeCurrentRPC": "JSON", "version": 453, "extFields": ext,
	})
	if err != nil {
		return 0, "", nil, err
	}
	frame := make([]byte, 8+len(hdr))
	binary.BigEndian.PutUint32(frame[0:], uint32(4+len(hdr)))
	binary.BigEndian.PutUint32(frame[4:], uint32(len(hdr))) // high byte 0: JSON
	copy(frame[8:], hdr)

	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return 0, "", nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(frame); err != nil {
		return 0, "", nil, err
	}
	var lenBuf [4]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return 0, "", nil, err
	}
	total := binary.BigEndian.Uint32(lenBuf[:])
	if total < 4 || total > 16<<20 {
		return 0, "", nil, fmt.Errorf("bad response length %d", total)
	}
	resp := make([]byte, total)
	if _, err := io.ReadFull(conn, resp); err != nil {
		return 0, "", nil, err
	}
	hl := binary.BigEndian.Uint32(resp[:4])
	if hl>>24 != 0 {
		return 0, "", nil, fmt.Errorf("response header not JSON (serialize type %d)", hl>>24)
	}
	hl &= 0xffffff
	if int(hl) > len(resp)-4 {
		return 0, "", nil, errors.New("bad response header length")
	}
	var rh struct {
		Code   int    `json:"code"`
		Remark string `json:"remark"`
	}
	if err := json.Unmarshal(resp[4:4+hl], &rh); err != nil {
		return 0, "", nil, fmt.Errorf("response header: %w", err)
	}
	return rh.Code, rh.Remark, resp[4+hl:], nil
}

// routedBrokers returns the brokers the NameServer routes topic to (names
// found in the route's queueDatas). The body is fastjson output, not always
// standard JSON, so it is scanned rather than decoded.
func routedBrokers(ns, topic string) ([]string, error) {
	code, remark, body, err := nsRequest(ns, codeGetRouteInfoByTopic, map[string]string{"topic": topic})
	if err != nil {
		return nil, err
	}
	if code != codeSuccess {
		return nil, fmt.Errorf("GET_ROUTEINFO_BY_TOPIC %s: code %d: %s", topic, code, remark)
	}
	s := string(body)
	i := strings.Index(s, `"queueDatas"`)
	if i < 0 {
		return nil, fmt.Errorf("route of %s has no queueDatas: %s", topic, s)
	}
	var names []string
	for _, part := range strings.Split(s[i:], `"brokerName":"`)[1:] {
		if j := strings.IndexByte(part, '"'); j > 0 {
			names = append(names, part[:j])
		}
	}
	return names, nil
}
