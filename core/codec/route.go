package codec

import (
	"encoding/json"
	"sort"
	"strconv"
)

// MasterID is the broker id of a master in BrokerData.BrokerAddrs.
const MasterID = 0

// TopicRouteData is a NameServer's answer to GET_ROUTEINFO_BY_TOPIC.
type TopicRouteData struct {
	// OrderTopicConf, when set, lists the queues of an ordered topic as "brokerName:n;..." and
	// overrides QueueDatas for publishing.
	OrderTopicConf string
	QueueDatas     []QueueData
	BrokerDatas    []BrokerData
}

// QueueData is one broker's queues of a topic.
type QueueData struct {
	BrokerName     string
	ReadQueueNums  int32
	WriteQueueNums int32
	Perm           int32
	TopicSysFlag   int32
}

// Writable reports whether producers may send to these queues.
func (q QueueData) Writable() bool { return q.Perm&PermWrite != 0 }

// BrokerData is one broker group: its master (id 0) and slaves.
type BrokerData struct {
	Cluster            string
	BrokerName         string
	BrokerAddrs        map[int64]string
	ZoneName           string
	EnableActingMaster bool
}

// MasterAddr returns the master's address, or "" when the group has no master.
func (b BrokerData) MasterAddr() string { return b.BrokerAddrs[MasterID] }

// DecodeTopicRouteData reads a route body in standard or fastjson non-standard JSON (bare numeric
// map keys; "topicSynFlag", the spelling before 4.9.0).
func DecodeTopicRouteData(body []byte) (*TopicRouteData, error) {
	p := jsonParser{b: body}
	rd := &TopicRouteData{}
	err := p.object(func(key string) error {
		switch key {
		case "orderTopicConf":
			v, err := p.text()
			rd.OrderTopicConf = v
			return err
		case "queueDatas":
			if p.null() {
				return nil
			}
			return p.array(func() error {
				var q QueueData
				err := p.object(func(k string) error {
					var err error
					switch k {
					case "brokerName":
						q.BrokerName, err = p.text()
					case "readQueueNums":
						q.ReadQueueNums, err = p.int32()
					case "writeQueueNums":
						q.WriteQueueNums, err = p.int32()
					case "perm":
						q.Perm, err = p.int32()
					case "topicSysFlag", "topicSynFlag":
						q.TopicSysFlag, err = p.int32()
					default:
						err = p.skip()
					}
					return err
				})
				rd.QueueDatas = append(rd.QueueDatas, q)
				return err
			})
		case "brokerDatas":
			if p.null() {
				return nil
			}
			return p.array(func() error {
				b, err := decodeBrokerData(&p)
				rd.BrokerDatas = append(rd.BrokerDatas, b)
				return err
			})
		default:
			return p.skip()
		}
	})
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return rd, nil
}

func decodeBrokerData(p *jsonParser) (BrokerData, error) {
	b := BrokerData{BrokerAddrs: map[int64]string{}}
	err := p.object(func(k string) error {
		var err error
		switch k {
		case "cluster":
			b.Cluster, err = p.text()
		case "brokerName":
			b.BrokerName, err = p.text()
		case "zoneName":
			b.ZoneName, err = p.text()
		case "enableActingMaster":
			b.EnableActingMaster, err = p.bool()
		case "brokerAddrs":
			if p.null() {
				return nil
			}
			err = p.object(func(id string) error {
				n, perr := strconv.ParseInt(id, 10, 64)
				if perr != nil {
					return p.errorf("broker id %q is not a number", id)
				}
				addr, err := p.text()
				b.BrokerAddrs[n] = addr
				return err
			})
		default:
			err = p.skip()
		}
		return err
	})
	return b, err
}

// ClusterInfo is the body of GET_BROKER_CLUSTER_INFO, which fastjson always writes with bare
// numeric keys.
type ClusterInfo struct {
	BrokerAddrTable  map[string]BrokerData
	ClusterAddrTable map[string][]string
}

// DecodeClusterInfo reads a GET_BROKER_CLUSTER_INFO body.
func DecodeClusterInfo(body []byte) (*ClusterInfo, error) {
	p := jsonParser{b: body}
	ci := &ClusterInfo{BrokerAddrTable: map[string]BrokerData{}, ClusterAddrTable: map[string][]string{}}
	err := p.object(func(key string) error {
		switch key {
		case "brokerAddrTable":
			if p.null() {
				return nil
			}
			return p.object(func(name string) error {
				b, err := decodeBrokerData(&p)
				ci.BrokerAddrTable[name] = b
				return err
			})
		case "clusterAddrTable":
			if p.null() {
				return nil
			}
			return p.object(func(cluster string) error {
				var names []string
				if p.null() {
					ci.ClusterAddrTable[cluster] = names
					return nil
				}
				err := p.array(func() error {
					s, err := p.text()
					names = append(names, s)
					return err
				})
				sort.Strings(names)
				ci.ClusterAddrTable[cluster] = names
				return err
			})
		default:
			return p.skip()
		}
	})
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return ci, nil
}

// HeartbeatData is the body of HEART_BEAT. A producer lists its groups; the broker routes
// transaction check-backs and reply pushes by ClientID and group.
type HeartbeatData struct {
	ClientID       string
	ProducerGroups []string
}

// EncodeHeartbeatData encodes h as the broker expects: fastjson-style member order, an empty
// consumer set and heartbeatFingerprint 0 (the V1 heartbeat every broker version understands).
func EncodeHeartbeatData(h *HeartbeatData) []byte {
	type producerData struct {
		GroupName string `json:"groupName"`
	}
	body := struct {
		ClientID             string         `json:"clientID"`
		ConsumerDataSet      []struct{}     `json:"consumerDataSet"`
		HeartbeatFingerprint int            `json:"heartbeatFingerprint"`
		ProducerDataSet      []producerData `json:"producerDataSet"`
		WithoutSub           bool           `json:"withoutSub"`
	}{ClientID: h.ClientID, ConsumerDataSet: []struct{}{}, ProducerDataSet: []producerData{}}
	for _, g := range h.ProducerGroups {
		body.ProducerDataSet = append(body.ProducerDataSet, producerData{g})
	}
	b, _ := json.Marshal(body) // cannot fail: only strings, ints and bools
	return b
}
